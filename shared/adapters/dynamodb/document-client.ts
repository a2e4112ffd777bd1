import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export interface DocumentClientOptions {
  /** dynalite or DynamoDB Local; unset in AWS. */
  readonly endpoint?: string | undefined;
  readonly region?: string | undefined;
}

export function createDynamoDbClient(options: DocumentClientOptions = {}): DynamoDBClient {
  const local = options.endpoint !== undefined;
  return new DynamoDBClient({
    endpoint: options.endpoint,
    region: options.region ?? process.env.AWS_REGION ?? (local ? 'local' : undefined),
    // Local servers accept any credentials; never let a developer's real ones travel there.
    ...(local ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
  });
}

/** The document client over `client` (or a new one), sharing its connections. */
export function createDocumentClient(
  options: DocumentClientOptions = {},
  client: DynamoDBClient = createDynamoDbClient(options),
): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
}
