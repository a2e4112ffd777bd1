import {
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
  InternalServiceError,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  SecretsManagerClient,
  SecretsManagerServiceException,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { allCustomMatcher } from 'aws-sdk-client-mock-vitest';
import { beforeEach, describe, expect, it } from 'vitest';
import { SecretsManagerCredentialStore } from '#shared/adapters/secrets/secrets-manager-credential-store.ts';
import type { StripeToken } from '#shared/domain/integration.ts';

expect.extend(allCustomMatcher);

/** Design §4: `…/stripe/{tenantId}` holds the OAuth token response and, once set, the webhook secret. */

const PREFIX = 'compass-test';
const TENANT = 'tenant_01HX9Z';
const SECRET_NAME = 'compass-test/stripe/tenant_01HX9Z';

const OLD_TOKEN: StripeToken = {
  access_token: 'sk_test_oldAccessToken',
  refresh_token: 'rt_old',
  token_type: 'bearer',
  scope: 'read_write',
  livemode: false,
  stripe_user_id: 'acct_1Old',
};
const NEW_TOKEN: StripeToken = {
  access_token: 'sk_test_newAccessToken',
  refresh_token: 'rt_new',
  token_type: 'bearer',
  scope: 'read_write',
  livemode: false,
  stripe_user_id: 'acct_1New',
};
const WEBHOOK_SECRET = 'whsec_existingSecret0123456789';

const notFound = () =>
  new ResourceNotFoundException({ message: 'Secrets Manager can’t find it', $metadata: {} });
const exists = () => new ResourceExistsException({ message: 'already exists', $metadata: {} });
const internal = () => new InternalServiceError({ message: 'internal', $metadata: { httpStatusCode: 500 } });
const throttled = () =>
  new SecretsManagerServiceException({
    name: 'ThrottlingException',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
    message: 'Rate exceeded',
  });

const secretsManager = mockClient(SecretsManagerClient);

/** The JSON the adapter wrote with the only command of `type` it sent. */
function writtenValue(type: typeof CreateSecretCommand | typeof PutSecretValueCommand): unknown {
  const calls =
    type === CreateSecretCommand
      ? secretsManager.commandCalls(CreateSecretCommand)
      : secretsManager.commandCalls(PutSecretValueCommand);
  expect(calls).toHaveLength(1);
  return JSON.parse(calls[0]?.args[0].input.SecretString ?? 'null');
}

describe('SecretsManagerCredentialStore', () => {
  let store: SecretsManagerCredentialStore;

  beforeEach(() => {
    secretsManager.reset();
    store = new SecretsManagerCredentialStore(new SecretsManagerClient({}), PREFIX);
  });

  it('names the secret {prefix}/stripe/{tenantId}', () => {
    // Act
    const name = store.secretName(TENANT);

    // Assert
    expect(name).toBe(SECRET_NAME);
  });

  describe('get', () => {
    it('returns the stored credential', async () => {
      // Arrange
      secretsManager
        .on(GetSecretValueCommand, { SecretId: SECRET_NAME })
        .resolves({ SecretString: JSON.stringify({ token: OLD_TOKEN, webhookSecret: WEBHOOK_SECRET }) });

      // Act
      const credential = await store.get(TENANT);

      // Assert
      expect(credential).toEqual({ token: OLD_TOKEN, webhookSecret: WEBHOOK_SECRET });
    });

    it('returns undefined when there is no secret', async () => {
      // Arrange
      secretsManager.on(GetSecretValueCommand).rejects(notFound());

      // Act
      const credential = await store.get(TENANT);

      // Assert
      expect(credential).toBeUndefined();
    });

    it('propagates a throttling error instead of reporting "no secret"', async () => {
      // Arrange
      secretsManager.on(GetSecretValueCommand).rejects(throttled());

      // Act & Assert
      await expect(store.get(TENANT)).rejects.toMatchObject({ name: 'ThrottlingException' });
    });
  });

  describe('saveToken', () => {
    it('creates the secret with the token JSON when none exists', async () => {
      // Arrange
      secretsManager.on(GetSecretValueCommand).rejects(notFound());
      secretsManager.on(CreateSecretCommand).resolves({ Name: SECRET_NAME });

      // Act
      await store.saveToken(TENANT, NEW_TOKEN);

      // Assert
      expect(secretsManager).toHaveReceivedCommandWith(CreateSecretCommand, { Name: SECRET_NAME });
      expect(writtenValue(CreateSecretCommand)).toEqual({ token: NEW_TOKEN });
      expect(secretsManager).not.toHaveReceivedCommand(PutSecretValueCommand);
    });

    it('puts a new version when the secret exists', async () => {
      // Arrange
      secretsManager
        .on(GetSecretValueCommand)
        .resolves({ SecretString: JSON.stringify({ token: OLD_TOKEN }) });
      secretsManager.on(PutSecretValueCommand).resolves({});

      // Act
      await store.saveToken(TENANT, NEW_TOKEN);

      // Assert
      expect(secretsManager).toHaveReceivedCommandWith(PutSecretValueCommand, { SecretId: SECRET_NAME });
      expect(writtenValue(PutSecretValueCommand)).toEqual({ token: NEW_TOKEN });
      expect(secretsManager).not.toHaveReceivedCommand(CreateSecretCommand);
    });

    it('keeps an existing webhook secret when the token is replaced for the same account', async () => {
      // Arrange
      secretsManager
        .on(GetSecretValueCommand)
        .resolves({ SecretString: JSON.stringify({ token: OLD_TOKEN, webhookSecret: WEBHOOK_SECRET }) });
      secretsManager.on(PutSecretValueCommand).resolves({});
      const sameAccount = { ...NEW_TOKEN, stripe_user_id: OLD_TOKEN.stripe_user_id };

      // Act
      await store.saveToken(TENANT, sameAccount);

      // Assert
      expect(writtenValue(PutSecretValueCommand)).toEqual({
        token: sameAccount,
        webhookSecret: WEBHOOK_SECRET,
      });
    });

    it("drops the webhook secret when the token is for another account (it signs the old account's events)", async () => {
      secretsManager
        .on(GetSecretValueCommand)
        .resolves({ SecretString: JSON.stringify({ token: OLD_TOKEN, webhookSecret: WEBHOOK_SECRET }) });
      secretsManager.on(PutSecretValueCommand).resolves({});

      await store.saveToken(TENANT, NEW_TOKEN);

      expect(writtenValue(PutSecretValueCommand)).toEqual({ token: NEW_TOKEN });
    });

    it('retries CreateSecret while a force-deleted secret of the same name is still being removed', async () => {
      secretsManager.on(GetSecretValueCommand).rejects(notFound());
      const pending = Object.assign(
        new Error(
          "You can't create this secret because a secret with this name is already scheduled for deletion.",
        ),
        {
          name: 'InvalidRequestException',
        },
      );
      secretsManager.on(CreateSecretCommand).rejectsOnce(pending).resolves({});

      await store.saveToken(TENANT, NEW_TOKEN);

      expect(secretsManager).toHaveReceivedCommandTimes(CreateSecretCommand, 2);
    });

    it('falls back to PutSecretValue when another writer created the secret first', async () => {
      // Arrange
      secretsManager.on(GetSecretValueCommand).rejects(notFound());
      secretsManager.on(CreateSecretCommand).rejects(exists());
      secretsManager.on(PutSecretValueCommand).resolves({});

      // Act
      await store.saveToken(TENANT, NEW_TOKEN);

      // Assert
      expect(secretsManager).toHaveReceivedCommandTimes(CreateSecretCommand, 1);
      expect(secretsManager).toHaveReceivedCommandWith(PutSecretValueCommand, { SecretId: SECRET_NAME });
      expect(writtenValue(PutSecretValueCommand)).toEqual({ token: NEW_TOKEN });
    });

    it('propagates a CreateSecret failure other than "exists"', async () => {
      // Arrange
      secretsManager.on(GetSecretValueCommand).rejects(notFound());
      secretsManager.on(CreateSecretCommand).rejects(internal());

      // Act & Assert
      await expect(store.saveToken(TENANT, NEW_TOKEN)).rejects.toBeInstanceOf(InternalServiceError);
      expect(secretsManager).not.toHaveReceivedCommand(PutSecretValueCommand);
    });

    it('propagates a throttled read and writes nothing', async () => {
      // Arrange
      secretsManager.on(GetSecretValueCommand).rejects(throttled());

      // Act & Assert
      await expect(store.saveToken(TENANT, NEW_TOKEN)).rejects.toMatchObject({ name: 'ThrottlingException' });
      expect(secretsManager).not.toHaveReceivedCommand(CreateSecretCommand);
      expect(secretsManager).not.toHaveReceivedCommand(PutSecretValueCommand);
    });

    it('propagates a PutSecretValue failure', async () => {
      // Arrange
      secretsManager
        .on(GetSecretValueCommand)
        .resolves({ SecretString: JSON.stringify({ token: OLD_TOKEN }) });
      secretsManager.on(PutSecretValueCommand).rejects(internal());

      // Act & Assert
      await expect(store.saveToken(TENANT, NEW_TOKEN)).rejects.toBeInstanceOf(InternalServiceError);
    });
  });

  describe('setWebhookSecret', () => {
    it('returns false and writes nothing when the tenant has no secret', async () => {
      // Arrange
      secretsManager.on(GetSecretValueCommand).rejects(notFound());

      // Act
      const stored = await store.setWebhookSecret(TENANT, 'whsec_newSecret0123456789');

      // Assert
      expect(stored).toBe(false);
      expect(secretsManager).not.toHaveReceivedCommand(PutSecretValueCommand);
      expect(secretsManager).not.toHaveReceivedCommand(CreateSecretCommand);
    });

    it('merges the webhook secret into the stored token', async () => {
      // Arrange
      secretsManager
        .on(GetSecretValueCommand)
        .resolves({ SecretString: JSON.stringify({ token: OLD_TOKEN }) });
      secretsManager.on(PutSecretValueCommand).resolves({});

      // Act
      const stored = await store.setWebhookSecret(TENANT, 'whsec_newSecret0123456789');

      // Assert
      expect(stored).toBe(true);
      expect(secretsManager).toHaveReceivedCommandWith(PutSecretValueCommand, { SecretId: SECRET_NAME });
      expect(writtenValue(PutSecretValueCommand)).toEqual({
        token: OLD_TOKEN,
        webhookSecret: 'whsec_newSecret0123456789',
      });
    });

    it('replaces a previous webhook secret', async () => {
      // Arrange
      secretsManager
        .on(GetSecretValueCommand)
        .resolves({ SecretString: JSON.stringify({ token: OLD_TOKEN, webhookSecret: WEBHOOK_SECRET }) });
      secretsManager.on(PutSecretValueCommand).resolves({});

      // Act
      await store.setWebhookSecret(TENANT, 'whsec_newSecret0123456789');

      // Assert
      expect(writtenValue(PutSecretValueCommand)).toEqual({
        token: OLD_TOKEN,
        webhookSecret: 'whsec_newSecret0123456789',
      });
    });

    it('propagates a throttled read instead of answering "not connected"', async () => {
      // Arrange
      secretsManager.on(GetSecretValueCommand).rejects(throttled());

      // Act & Assert
      await expect(store.setWebhookSecret(TENANT, 'whsec_newSecret0123456789')).rejects.toMatchObject({
        name: 'ThrottlingException',
      });
      expect(secretsManager).not.toHaveReceivedCommand(PutSecretValueCommand);
    });
  });

  describe('delete', () => {
    it('deletes at once, without a recovery window', async () => {
      // Arrange
      secretsManager.on(DeleteSecretCommand).resolves({});

      // Act
      await store.delete(TENANT);

      // Assert
      expect(secretsManager).toHaveReceivedCommandExactlyOnceWith(DeleteSecretCommand, {
        SecretId: SECRET_NAME,
        ForceDeleteWithoutRecovery: true,
      });
      const input = secretsManager.commandCalls(DeleteSecretCommand)[0]?.args[0].input;
      expect(input?.RecoveryWindowInDays).toBeUndefined();
    });

    it('ignores a secret that does not exist', async () => {
      // Arrange
      secretsManager.on(DeleteSecretCommand).rejects(notFound());

      // Act & Assert
      await expect(store.delete(TENANT)).resolves.toBeUndefined();
    });

    it.each([
      ['InternalServiceError', internal],
      ['ThrottlingException', throttled],
    ])('propagates %s so the caller answers 5xx', async (name, error) => {
      // Arrange
      secretsManager.on(DeleteSecretCommand).rejects(error());

      // Act & Assert
      await expect(store.delete(TENANT)).rejects.toMatchObject({ name });
    });
  });
});
