import { DeleteCommand, type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { OAuthStateStore, PendingOAuthState } from '../../ports/oauth-state-store.ts';

const key = (stateHash: string) => ({ pk: `OAUTH_STATE#${stateHash}`, sk: 'OAUTH_STATE' });

export class DynamoDbOAuthStateStore implements OAuthStateStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async save(state: PendingOAuthState): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...key(state.stateHash), ...state },
        // 256-bit nonces do not collide; the condition guards against a bug that reuses one.
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  /** DeleteItem with ALL_OLD is atomic: of concurrent callers only one receives the item. */
  async consume(stateHash: string): Promise<PendingOAuthState | undefined> {
    const result = await this.db.send(
      new DeleteCommand({ TableName: this.tableName, Key: key(stateHash), ReturnValues: 'ALL_OLD' }),
    );
    const item = result.Attributes;
    if (!item) return undefined;
    return {
      stateHash: String(item.stateHash),
      browserBindingHash: String(item.browserBindingHash),
      tenantId: String(item.tenantId),
      tenantSlug: String(item.tenantSlug),
      userId: String(item.userId),
      expiresAt: Number(item.expiresAt),
    };
  }
}
