import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { StoredToken } from '../../domain/integration.ts';
import type { TokenStore } from '../../ports/token-store.ts';
import type { StoredWebhookSecret, WebhookSecretStore } from '../../ports/webhook-secret-store.ts';
import { SecretsManagerSecrets } from './secrets-manager-secrets.ts';

/**
 * Where each tenant's secrets live: `{prefix}/stripe/oauth/{tenantId}` (the OAuth token) and
 * `{prefix}/stripe/webhook/{tenantId}` (its endpoint's signing secret). The two name spaces never
 * overlap, so IAM can give the public webhook functions the second and not the first.
 */
const tokenSecretName = (prefix: string, tenantId: string) => `${prefix}/stripe/oauth/${tenantId}`;
const webhookSecretName = (prefix: string, tenantId: string) => `${prefix}/stripe/webhook/${tenantId}`;

interface Kind<T> {
  readonly name: (prefix: string, tenantId: string) => string;
  readonly description: string;
  readonly encode: (value: T) => string;
  readonly decode: (text: string) => T;
}

/** One secret of one kind per tenant, tagged with the tenant when it is created. */
class TenantSecrets<T> {
  private readonly secrets: SecretsManagerSecrets;

  constructor(
    client: SecretsManagerClient,
    private readonly prefix: string,
    private readonly kind: Kind<T>,
  ) {
    this.secrets = new SecretsManagerSecrets(client);
  }

  async save(tenantId: string, value: T): Promise<void> {
    await this.secrets.put(this.kind.name(this.prefix, tenantId), this.kind.encode(value), {
      description: this.kind.description,
      tags: { 'compass:tenantId': tenantId },
    });
  }

  async get(tenantId: string): Promise<T | undefined> {
    const text = await this.secrets.get(this.kind.name(this.prefix, tenantId));
    return text === undefined ? undefined : this.kind.decode(text);
  }

  delete(tenantId: string): Promise<void> {
    return this.secrets.delete(this.kind.name(this.prefix, tenantId));
  }
}

export class SecretsManagerTokenStore extends TenantSecrets<StoredToken> implements TokenStore {
  constructor(client: SecretsManagerClient, prefix: string) {
    super(client, prefix, {
      name: tokenSecretName,
      description: 'Stripe Connect OAuth token of one Compass tenant',
      encode: (token) => JSON.stringify(token),
      decode: (text) => JSON.parse(text) as StoredToken,
    });
  }
}

export class SecretsManagerWebhookSecretStore
  extends TenantSecrets<StoredWebhookSecret>
  implements WebhookSecretStore
{
  constructor(client: SecretsManagerClient, prefix: string) {
    super(client, prefix, {
      name: webhookSecretName,
      description: "Signing secret of one Compass tenant's own Stripe webhook endpoint",
      encode: (secret) => JSON.stringify(secret),
      decode: (text) => JSON.parse(text) as StoredWebhookSecret,
    });
  }
}
