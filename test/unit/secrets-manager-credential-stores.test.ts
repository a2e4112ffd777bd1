import {
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
  InternalServiceError,
  InvalidRequestException,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  SecretsManagerClient,
  SecretsManagerServiceException,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { allCustomMatcher } from 'aws-sdk-client-mock-vitest';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  SecretsManagerTokenStore,
  SecretsManagerWebhookSecretStore,
} from '#shared/adapters/secrets/secrets-manager-credential-stores.ts';
import type { StoredToken } from '#shared/domain/integration.ts';
import type { StoredWebhookSecret } from '#shared/ports/webhook-secret-store.ts';

expect.extend(allCustomMatcher);

const PREFIX = 'compass-test';
const TENANT = 'tenant_01HX9Z';
const TOKEN_NAME = 'compass-test/stripe/oauth/tenant_01HX9Z';
const WEBHOOK_NAME = 'compass-test/stripe/webhook/tenant_01HX9Z';

const TOKEN: StoredToken = {
  access_token: 'sk_test_accessToken',
  refresh_token: 'rt_1',
  scope: 'read_write',
  livemode: false,
  stripe_user_id: 'acct_1Clinic',
};
const WEBHOOK_SECRET = 'whsec_existingSecret0123456789';

const notFound = () => new ResourceNotFoundException({ message: 'not found', $metadata: {} });
const exists = () => new ResourceExistsException({ message: 'already exists', $metadata: {} });
const pendingDeletion = () =>
  new InvalidRequestException({ message: 'scheduled for deletion', $metadata: {} });
const internal = () => new InternalServiceError({ message: 'internal', $metadata: { httpStatusCode: 500 } });
const throttled = () =>
  new SecretsManagerServiceException({
    name: 'ThrottlingException',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
    message: 'Rate exceeded',
  });

const secretsManager = mockClient(SecretsManagerClient);

describe.each([
  {
    kind: 'token',
    name: TOKEN_NAME,
    store: () => new SecretsManagerTokenStore(new SecretsManagerClient({}), PREFIX),
    value: TOKEN as StoredToken | StoredWebhookSecret,
    stored: JSON.stringify(TOKEN),
  },
  {
    kind: 'webhook secret',
    name: WEBHOOK_NAME,
    store: () => new SecretsManagerWebhookSecretStore(new SecretsManagerClient({}), PREFIX),
    value: { secret: WEBHOOK_SECRET, stripeAccountId: 'acct_1Clinic' } as StoredToken | StoredWebhookSecret,
    stored: JSON.stringify({ secret: WEBHOOK_SECRET, stripeAccountId: 'acct_1Clinic' }),
  },
])('the $kind store', ({ name, store: build, value, stored }) => {
  // One interface for both: `save` takes the kind's own value.
  let store: {
    save(tenantId: string, value: never): Promise<void>;
    get(tenantId: string): Promise<unknown>;
    delete(tenantId: string): Promise<void>;
  };

  beforeEach(() => {
    secretsManager.reset();
    store = build() as typeof store;
  });

  it(`reads ${name}`, async () => {
    secretsManager.on(GetSecretValueCommand, { SecretId: name }).resolves({ SecretString: stored });
    expect(await store.get(TENANT)).toEqual(value);
  });

  it('answers undefined for a secret that does not exist or is pending deletion', async () => {
    secretsManager.on(GetSecretValueCommand).rejectsOnce(notFound()).rejectsOnce(pendingDeletion());
    expect(await store.get(TENANT)).toBeUndefined();
    expect(await store.get(TENANT)).toBeUndefined();
  });

  it('propagates a throttled read instead of answering "no secret"', async () => {
    secretsManager.on(GetSecretValueCommand).rejects(throttled());
    await expect(store.get(TENANT)).rejects.toMatchObject({ name: 'ThrottlingException' });
  });

  it('saves with one PutSecretValue and never reads first (no read-modify-write)', async () => {
    secretsManager.on(PutSecretValueCommand).resolves({});
    await store.save(TENANT, value as never);
    expect(secretsManager).toHaveReceivedCommandExactlyOnceWith(PutSecretValueCommand, {
      SecretId: name,
      SecretString: stored,
    });
    expect(secretsManager).not.toHaveReceivedCommand(GetSecretValueCommand);
    expect(secretsManager).not.toHaveReceivedCommand(CreateSecretCommand);
  });

  it('creates the secret, tagged with the tenant, when it does not exist yet', async () => {
    secretsManager.on(PutSecretValueCommand).rejects(notFound());
    secretsManager.on(CreateSecretCommand).resolves({});
    await store.save(TENANT, value as never);
    expect(secretsManager).toHaveReceivedCommandExactlyOnceWith(CreateSecretCommand, {
      Name: name,
      SecretString: stored,
      Tags: [{ Key: 'compass:tenantId', Value: TENANT }],
    });
  });

  it('retries CreateSecret while a force-deleted secret of the same name is still being removed', async () => {
    secretsManager.on(PutSecretValueCommand).rejects(notFound());
    secretsManager.on(CreateSecretCommand).rejectsOnce(pendingDeletion()).resolves({});
    await store.save(TENANT, value as never);
    expect(secretsManager).toHaveReceivedCommandTimes(CreateSecretCommand, 2);
  });

  it('writes a new version when another writer created the secret first', async () => {
    secretsManager.on(PutSecretValueCommand).rejectsOnce(notFound()).resolves({});
    secretsManager.on(CreateSecretCommand).rejects(exists());
    await store.save(TENANT, value as never);
    expect(secretsManager).toHaveReceivedCommandTimes(PutSecretValueCommand, 2);
  });

  it('propagates a failed write (so the caller can retry or revoke)', async () => {
    secretsManager.on(PutSecretValueCommand).rejects(internal());
    await expect(store.save(TENANT, value as never)).rejects.toMatchObject({ name: 'InternalServiceError' });
    expect(secretsManager).not.toHaveReceivedCommand(CreateSecretCommand);
  });

  it('deletes at once, without a recovery window, and ignores a secret that is not there', async () => {
    secretsManager.on(DeleteSecretCommand).resolvesOnce({}).rejectsOnce(notFound());
    await store.delete(TENANT);
    await store.delete(TENANT);
    expect(secretsManager).toHaveReceivedCommandWith(DeleteSecretCommand, {
      SecretId: name,
      ForceDeleteWithoutRecovery: true,
    });
  });

  it('propagates a failed delete', async () => {
    secretsManager.on(DeleteSecretCommand).rejects(throttled());
    await expect(store.delete(TENANT)).rejects.toMatchObject({ name: 'ThrottlingException' });
  });
});
