import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, Billing, ProjectionType, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';

/**
 * The single table's key schema, as the stack builds it.
 *
 * The application's own copy lives in `shared/adapters/dynamodb/table-definition.ts` (the local
 * stack and the tests create their table from it); the infra test asserts the two are equal, so
 * neither side can drift without a red test. It is spelled out here rather than imported so the
 * stack does not pull the AWS SDK into the CDK app.
 */
export const tableSchema = {
  partitionKey: 'pk',
  sortKey: 'sk',
  gsi1: { name: 'gsi1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
  ttlAttribute: 'expiresAt',
} as const;

/**
 * The connector's one DynamoDB table: integrations, OAuth states, the webhook ledger, backfill
 * checkpoints and the synced records (README "Data").
 */
export class Storage extends Construct {
  readonly table: TableV2;

  constructor(scope: Construct, id: string) {
    super(scope, id);

    const { partitionKey, sortKey, gsi1, ttlAttribute } = tableSchema;
    this.table = new TableV2(this, 'Table', {
      partitionKey: { name: partitionKey, type: AttributeType.STRING },
      sortKey: { name: sortKey, type: AttributeType.STRING },
      globalSecondaryIndexes: [
        {
          indexName: gsi1.name,
          partitionKey: { name: gsi1.partitionKey, type: AttributeType.STRING },
          sortKey: { name: gsi1.sortKey, type: AttributeType.STRING },
          projectionType: ProjectionType.ALL,
        },
      ],
      billing: Billing.onDemand(),
      // Expired OAuth states and ledger entries are deleted by DynamoDB (lazily: readers still
      // check `expiresAt`).
      timeToLiveAttribute: ttlAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      // Tenants' integrations and synced history must survive a stack deletion or replacement.
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}
