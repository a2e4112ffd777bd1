import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { TenantIntakeState, TenantStateReader } from '../../ports/tenant-state-reader.ts';
import { INTEGRATION_SK, toIntegration } from './integration-repository-dynamodb.ts';
import { TENANT_DATA_SK, toTenantData } from './tenant-data-store-dynamodb.ts';

/** The backfill status store's sort key (backfill-status-store-dynamodb.ts). */
const BACKFILL_SK = 'BACKFILL#stripe';

/**
 * The tenant's integration row, backfill status and data state live in one partition
 * (`TENANT#{id}`), so one strongly consistent Query reads them together: 1 read unit for the few
 * hundred bytes they hold, whatever changed a millisecond before.
 */
export class DynamoDbTenantStateReader implements TenantStateReader {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async read(tenantId: string): Promise<TenantIntakeState> {
    const { Items = [] } = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': `TENANT#${tenantId}` },
        ConsistentRead: true,
      }),
    );
    const bySk = new Map(Items.map((item) => [String(item.sk), item]));
    const integration = bySk.get(INTEGRATION_SK);
    const backfill = bySk.get(BACKFILL_SK);
    const data = bySk.get(TENANT_DATA_SK);
    return {
      integration: integration ? toIntegration(integration) : undefined,
      backfillActive: backfill?.status === 'queued' || backfill?.status === 'running',
      data: data ? toTenantData(data) : undefined,
    };
  }
}
