import {
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { StripeToken } from '../../domain/integration.ts';
import { type CredentialStore, type TenantCredential, withToken } from '../../ports/credential-store.ts';

/**
 * One secret per tenant, `{prefix}/stripe/{tenantId}`, holding `{token, webhookSecret?}` as JSON.
 * Deletion skips the recovery window: a disconnected tenant's token must be gone at once, and a
 * secret pending deletion would block the name if the tenant connects again.
 */
export class SecretsManagerCredentialStore implements CredentialStore {
  constructor(
    private readonly client: SecretsManagerClient,
    private readonly prefix: string,
  ) {}

  secretName(tenantId: string): string {
    return `${this.prefix}/stripe/${tenantId}`;
  }

  async get(tenantId: string): Promise<TenantCredential | undefined> {
    try {
      const { SecretString } = await this.client.send(
        new GetSecretValueCommand({ SecretId: this.secretName(tenantId) }),
      );
      return SecretString ? (JSON.parse(SecretString) as TenantCredential) : undefined;
    } catch (error) {
      // InvalidRequestException: the secret is marked for deletion, i.e. already gone for us.
      if (['ResourceNotFoundException', 'InvalidRequestException'].includes(errorName(error) ?? ''))
        return undefined;
      throw error;
    }
  }

  async saveToken(tenantId: string, token: StripeToken): Promise<void> {
    const current = await this.get(tenantId);
    const value: TenantCredential = withToken(current, token);
    if (current) {
      await this.put(tenantId, value);
      return;
    }
    await this.create(tenantId, value);
  }

  /**
   * Secrets Manager removes a force-deleted secret asynchronously; until it is gone, creating the
   * same name fails with InvalidRequestException (a tenant reconnecting right after a disconnect).
   */
  private async create(tenantId: string, value: TenantCredential): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.createOnce(tenantId, value);
        return;
      } catch (error) {
        if (errorName(error) !== 'InvalidRequestException' || attempt >= CREATE_RETRY_DELAYS_MS.length)
          throw error;
        await sleep(CREATE_RETRY_DELAYS_MS[attempt] ?? 0);
      }
    }
  }

  private async createOnce(tenantId: string, value: TenantCredential): Promise<void> {
    try {
      await this.client.send(
        new CreateSecretCommand({
          Name: this.secretName(tenantId),
          Description: 'Stripe Connect OAuth token of one Compass tenant',
          SecretString: JSON.stringify(value),
          Tags: [{ Key: 'compass:tenantId', Value: tenantId }],
        }),
      );
    } catch (error) {
      // Lost a race with another writer: the secret exists now, so write a new version.
      if (errorName(error) !== 'ResourceExistsException') throw error;
      await this.put(tenantId, value);
    }
  }

  async setWebhookSecret(tenantId: string, webhookSecret: string): Promise<boolean> {
    const current = await this.get(tenantId);
    if (!current) return false;
    await this.put(tenantId, { ...current, webhookSecret });
    return true;
  }

  async delete(tenantId: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteSecretCommand({ SecretId: this.secretName(tenantId), ForceDeleteWithoutRecovery: true }),
      );
    } catch (error) {
      if (errorName(error) !== 'ResourceNotFoundException') throw error;
    }
  }

  private async put(tenantId: string, value: TenantCredential): Promise<void> {
    await this.client.send(
      new PutSecretValueCommand({ SecretId: this.secretName(tenantId), SecretString: JSON.stringify(value) }),
    );
  }
}

const CREATE_RETRY_DELAYS_MS = [500, 1500];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function errorName(error: unknown): string | undefined {
  const name = (error as { name?: unknown } | null)?.name;
  return typeof name === 'string' ? name : undefined;
}
