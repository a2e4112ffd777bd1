import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { StripeIntegration } from '../../domain/integration.ts';
import { NotConnectedError } from '../../errors/not-connected-error.ts';
import type { AccountClaim, IntegrationRepository } from '../../ports/integration-repository.ts';
import { isConditionFailure } from './condition-failure.ts';
import { tableKeySchema } from './table-definition.ts';

export const INTEGRATION_SK = 'INTEGRATION#stripe';
const integrationKey = (tenantId: string) => ({ pk: `TENANT#${tenantId}`, sk: INTEGRATION_SK });
const claimKey = (stripeAccountId: string) => ({ pk: `STRIPE_ACCOUNT#${stripeAccountId}`, sk: 'CLAIM' });

/** Only one writer can win a contested claim; a bounded loop covers the takeover race. */
const MAX_CLAIM_ATTEMPTS = 3;
/**
 * A claim younger than this is never taken over, even when its tenant has no row yet: the claim
 * is written before the row, so a concurrent connect of the same account is still in progress.
 */
export const CLAIM_TAKEOVER_GRACE_MS = 60_000;

/**
 * Integration rows (`TENANT#{id}` / `INTEGRATION#stripe`, found by slug through `gsi1`) and
 * account claims (`STRIPE_ACCOUNT#{acct}` / `CLAIM`). A claim is a separate item because a GSI
 * cannot enforce uniqueness and dynalite has no transactions: a conditional put on one item can.
 */
export class DynamoDbIntegrationRepository implements IntegrationRepository {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async getByTenant(tenantId: string): Promise<StripeIntegration | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: integrationKey(tenantId), ConsistentRead: true }),
    );
    return Item ? toIntegration(Item) : undefined;
  }

  async findBySlug(tenantSlug: string): Promise<StripeIntegration | undefined> {
    const { Items } = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: tableKeySchema.gsi1.name,
        KeyConditionExpression: 'gsi1pk = :pk AND gsi1sk = :sk',
        ExpressionAttributeValues: { ':pk': `SLUG#${tenantSlug}`, ':sk': INTEGRATION_SK },
        Limit: 2,
      }),
    );
    const item = Items?.[0];
    return item ? toIntegration(item) : undefined;
  }

  async findByStripeAccount(stripeAccountId: string): Promise<StripeIntegration | undefined> {
    const claim = await this.claim(stripeAccountId);
    if (!claim) return undefined;
    const integration = await this.getByTenant(claim.tenantId);
    return integration?.stripeAccountId === stripeAccountId ? integration : undefined;
  }

  async accountHolder(stripeAccountId: string): Promise<string | undefined> {
    return (await this.claim(stripeAccountId))?.tenantId;
  }

  async claimAccount(stripeAccountId: string, tenantId: string, now: Date): Promise<AccountClaim> {
    let condition = 'attribute_not_exists(pk) OR tenantId = :tenantId';
    let values: Record<string, string | number> = { ':tenantId': tenantId };
    for (let attempt = 0; attempt < MAX_CLAIM_ATTEMPTS; attempt++) {
      try {
        await this.db.send(
          new PutCommand({
            TableName: this.tableName,
            Item: { ...claimKey(stripeAccountId), tenantId, stripeAccountId, claimedAt: now.getTime() },
            ConditionExpression: condition,
            ExpressionAttributeValues: values,
          }),
        );
        return { outcome: 'claimed' };
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
      const claim = await this.claim(stripeAccountId);
      if (claim === undefined || claim.tenantId === tenantId) {
        condition = 'attribute_not_exists(pk) OR tenantId = :tenantId';
        values = { ':tenantId': tenantId };
        continue;
      }
      const held = await this.getByTenant(claim.tenantId);
      const fresh = now.getTime() - claim.claimedAt < CLAIM_TAKEOVER_GRACE_MS;
      if (held?.stripeAccountId === stripeAccountId || fresh)
        return { outcome: 'held', tenantId: claim.tenantId };
      // The holder no longer has this account (a disconnect crashed before releasing it).
      condition = 'tenantId = :holder AND claimedAt = :claimedAt';
      values = { ':holder': claim.tenantId, ':claimedAt': claim.claimedAt };
    }
    const claim = await this.claim(stripeAccountId);
    return { outcome: 'held', tenantId: claim?.tenantId ?? 'unknown' };
  }

  async releaseAccount(stripeAccountId: string, tenantId: string): Promise<void> {
    await this.ignoringConditionFailure(
      new DeleteCommand({
        TableName: this.tableName,
        Key: claimKey(stripeAccountId),
        ConditionExpression: 'tenantId = :tenantId',
        ExpressionAttributeValues: { ':tenantId': tenantId },
      }),
    );
  }

  async save(integration: StripeIntegration): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...integrationKey(integration.tenantId),
          gsi1pk: `SLUG#${integration.tenantSlug}`,
          gsi1sk: INTEGRATION_SK,
          ...integration,
        },
      }),
    );
  }

  async setWebhookSecretConfigured(
    tenantId: string,
    stripeAccountId: string,
    configured: boolean,
    version?: string,
  ): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: integrationKey(tenantId),
          UpdateExpression: version
            ? 'SET webhookSecretConfigured = :configured, webhookSecretVersion = :version'
            : 'SET webhookSecretConfigured = :configured REMOVE webhookSecretVersion',
          // Still connected to the account the secret was saved for (not disconnected or switched).
          ConditionExpression: 'attribute_exists(pk) AND #status = :connected AND stripeAccountId = :account',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':configured': configured,
            ':connected': 'connected',
            ':account': stripeAccountId,
            ...(version ? { ':version': version } : {}),
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async recordWebhookActivity(tenantId: string, endpoint: 'tenant' | 'connect', at: Date): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: integrationKey(tenantId),
          UpdateExpression: 'SET lastEventAt = :at, #endpoint = :at',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: {
            '#endpoint': endpoint === 'tenant' ? 'lastTenantEventAt' : 'lastConnectEventAt',
          },
          ExpressionAttributeValues: { ':at': at.toISOString() },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  async markDisconnecting(tenantId: string, stripeAccountId: string): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: integrationKey(tenantId),
          UpdateExpression: 'SET #status = :disconnecting',
          ConditionExpression: 'stripeAccountId = :account',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':disconnecting': 'disconnecting', ':account': stripeAccountId },
        }),
      );
    } catch (error) {
      // Another disconnect finished first, or a reconnect replaced the row in between.
      if (isConditionFailure(error)) throw new NotConnectedError();
      throw error;
    }
  }

  async delete(tenantId: string, stripeAccountId: string): Promise<void> {
    await this.ignoringConditionFailure(
      new DeleteCommand({
        TableName: this.tableName,
        Key: integrationKey(tenantId),
        ConditionExpression: 'stripeAccountId = :account',
        ExpressionAttributeValues: { ':account': stripeAccountId },
      }),
    );
  }

  private async claim(stripeAccountId: string): Promise<{ tenantId: string; claimedAt: number } | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: claimKey(stripeAccountId), ConsistentRead: true }),
    );
    return Item ? { tenantId: String(Item.tenantId), claimedAt: Number(Item.claimedAt ?? 0) } : undefined;
  }

  private async ignoringConditionFailure(command: DeleteCommand): Promise<void> {
    try {
      await this.db.send(command);
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }
}

export function toIntegration(item: Record<string, unknown>): StripeIntegration {
  return {
    tenantId: String(item.tenantId),
    tenantSlug: String(item.tenantSlug),
    stripeAccountId: String(item.stripeAccountId),
    livemode: item.livemode === true,
    scope: String(item.scope),
    connectedAt: String(item.connectedAt),
    status: item.status === 'disconnecting' ? 'disconnecting' : 'connected',
    webhookSecretConfigured: item.webhookSecretConfigured === true,
    webhookSecretVersion: typeof item.webhookSecretVersion === 'string' ? item.webhookSecretVersion : null,
    lastEventAt: typeof item.lastEventAt === 'string' ? item.lastEventAt : null,
    lastTenantEventAt: typeof item.lastTenantEventAt === 'string' ? item.lastTenantEventAt : null,
    lastConnectEventAt: typeof item.lastConnectEventAt === 'string' ? item.lastConnectEventAt : null,
  };
}
