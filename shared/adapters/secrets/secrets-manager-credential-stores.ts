import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { StoredToken } from '../../domain/integration.ts';
import type { TokenStore } from '../../ports/token-store.ts';
import type { WebhookSecretStore } from '../../ports/webhook-secret-store.ts';
import { SecretsManagerSecrets } from './secrets-manager-secrets.ts';

/**
 * Where each tenant's secrets live: `{prefix}/stripe/oauth/{tenantId}` (the OAuth token) and
 * `{prefix}/stripe/webhook/{tenantId}` (its endpoint's signing secret). The two name spaces never
 * overlap, so IAM can give the public webhook functions the second and not the first.
 */
export const tokenSecretName = (prefix: string, tenantId: string) => `${prefix}/stripe/oauth/${tenantId}`;
export const webhookSecretName = (prefix: string, tenantId: string) => `${prefix}/stripe/webhook/${tenantId}`;

const tags = (tenantId: string) => ({ 'compass:tenantId': tenantId });

export class SecretsManagerTokenStore implements TokenStore {
  private readonly secrets: SecretsManagerSecrets;

  constructor(
    client: SecretsManagerClient,
    private readonly prefix: string,
  ) {
    this.secrets = new SecretsManagerSecrets(client);
  }

  async save(tenantId: string, token: StoredToken): Promise<void> {
    await this.secrets.put(tokenSecretName(this.prefix, tenantId), JSON.stringify(token), {
      description: 'Stripe Connect OAuth token of one Compass tenant',
      tags: tags(tenantId),
    });
  }

  async get(tenantId: string): Promise<StoredToken | undefined> {
    const value = await this.secrets.get(tokenSecretName(this.prefix, tenantId));
    return value === undefined ? undefined : (JSON.parse(value) as StoredToken);
  }

  delete(tenantId: string): Promise<void> {
    return this.secrets.delete(tokenSecretName(this.prefix, tenantId));
  }
}

export class SecretsManagerWebhookSecretStore implements WebhookSecretStore {
  private readonly secrets: SecretsManagerSecrets;

  constructor(
    client: SecretsManagerClient,
    private readonly prefix: string,
  ) {
    this.secrets = new SecretsManagerSecrets(client);
  }

  async save(tenantId: string, webhookSecret: string): Promise<void> {
    await this.secrets.put(webhookSecretName(this.prefix, tenantId), webhookSecret, {
      description: "Signing secret of one Compass tenant's own Stripe webhook endpoint",
      tags: tags(tenantId),
    });
  }

  get(tenantId: string): Promise<string | undefined> {
    return this.secrets.get(webhookSecretName(this.prefix, tenantId));
  }

  delete(tenantId: string): Promise<void> {
    return this.secrets.delete(webhookSecretName(this.prefix, tenantId));
  }
}
