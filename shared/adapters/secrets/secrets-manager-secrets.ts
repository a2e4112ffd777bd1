import {
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';

/**
 * Whole-value writes and reads of named secrets. A value is always written in one call
 * (PutSecretValue, or CreateSecret the first time), never read and merged first, so two writers
 * of one secret cannot lose each other's change half-way: the last write wins whole.
 *
 * Deletion skips the recovery window: a removed credential must be gone at once, and a secret
 * pending deletion would block its name when the tenant connects again.
 */
export class SecretsManagerSecrets {
  constructor(
    private readonly client: SecretsManagerClient,
    private readonly retryDelaysMs: readonly number[] = CREATE_RETRY_DELAYS_MS,
  ) {}

  async get(name: string): Promise<string | undefined> {
    try {
      const { SecretString } = await this.client.send(new GetSecretValueCommand({ SecretId: name }));
      return SecretString || undefined;
    } catch (error) {
      // InvalidRequestException: the secret is marked for deletion, i.e. already gone for us.
      if (GONE.includes(errorName(error) ?? '')) return undefined;
      throw error;
    }
  }

  async put(name: string, value: string, create: CreateDetails): Promise<void> {
    try {
      await this.client.send(new PutSecretValueCommand({ SecretId: name, SecretString: value }));
    } catch (error) {
      if (!GONE.includes(errorName(error) ?? '')) throw error;
      await this.create(name, value, create);
    }
  }

  async delete(name: string): Promise<void> {
    try {
      await this.client.send(new DeleteSecretCommand({ SecretId: name, ForceDeleteWithoutRecovery: true }));
    } catch (error) {
      if (errorName(error) !== 'ResourceNotFoundException') throw error;
    }
  }

  /**
   * Secrets Manager removes a force-deleted secret asynchronously; until it is gone, creating the
   * same name fails with InvalidRequestException (a tenant reconnecting right after a disconnect).
   */
  private async create(name: string, value: string, details: CreateDetails): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.client.send(
          new CreateSecretCommand({
            Name: name,
            Description: details.description,
            SecretString: value,
            Tags: Object.entries(details.tags).map(([Key, Value]) => ({ Key, Value })),
          }),
        );
        return;
      } catch (error) {
        const reason = errorName(error);
        // Lost a race with another writer: the secret exists now, so write a new version.
        if (reason === 'ResourceExistsException') {
          await this.client.send(new PutSecretValueCommand({ SecretId: name, SecretString: value }));
          return;
        }
        if (reason !== 'InvalidRequestException' || attempt >= this.retryDelaysMs.length) throw error;
        await sleep(this.retryDelaysMs[attempt] ?? 0);
      }
    }
  }
}

export interface CreateDetails {
  readonly description: string;
  readonly tags: Readonly<Record<string, string>>;
}

const GONE = ['ResourceNotFoundException', 'InvalidRequestException'];
const CREATE_RETRY_DELAYS_MS = [500, 1500];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function errorName(error: unknown): string | undefined {
  const name = (error as { name?: unknown } | null)?.name;
  return typeof name === 'string' ? name : undefined;
}
