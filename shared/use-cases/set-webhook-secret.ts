import { randomBytes } from 'node:crypto';
import { parseWebhookSecret } from '../domain/webhook-secret.ts';
import { NotConnectedError } from '../errors/not-connected-error.ts';
import type { IntegrationRepository } from '../ports/integration-repository.ts';
import type { Log } from '../ports/log.ts';
import type { WebhookSecretStore } from '../ports/webhook-secret-store.ts';

export interface SetWebhookSecretDeps {
  readonly integrations: IntegrationRepository;
  readonly webhookSecrets: WebhookSecretStore;
  readonly log: Log;
}

/**
 * Stores the signing secret of the tenant's own webhook endpoint in a secret of its own (the
 * token is never read nor rewritten). The value is validated before anything is read or written,
 * and never returned.
 */
export async function setWebhookSecret(
  deps: SetWebhookSecretDeps,
  tenantId: string,
  input: unknown,
): Promise<void> {
  const secret = parseWebhookSecret(input);
  const integration = await deps.integrations.getByTenant(tenantId);
  if (integration?.status !== 'connected') {
    throw new NotConnectedError('Connect Stripe before configuring the webhook signing secret');
  }
  const { stripeAccountId } = integration;
  const version = randomBytes(9).toString('base64url');
  await deps.webhookSecrets.save(tenantId, { secret, stripeAccountId, version });
  // A disconnect or a switch to another account may have run since the row was read: then the
  // secret just written must not stay (the account's own check on read keeps it from verifying).
  if (!(await deps.integrations.setWebhookSecretConfigured(tenantId, stripeAccountId, true, version))) {
    const current = await deps.integrations.getByTenant(tenantId);
    if (current?.stripeAccountId !== stripeAccountId || current.status !== 'connected') {
      await deps.webhookSecrets.delete(tenantId);
    }
    throw new NotConnectedError('Connect Stripe before configuring the webhook signing secret');
  }
  deps.log.info('stripe_webhook_secret_configured', { tenantId });
}
