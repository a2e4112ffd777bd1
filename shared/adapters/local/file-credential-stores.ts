import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type StoredToken, type StripeToken, tokenToStore } from '../../domain/integration.ts';
import { TENANT_ID_PATTERN } from '../../domain/tenant.ts';
import type { TokenStore } from '../../ports/token-store.ts';
import type { StoredWebhookSecret, WebhookSecretStore } from '../../ports/webhook-secret-store.ts';

/**
 * The local stack's stand-in for Secrets Manager: one owner-only file per tenant and kind
 * (`oauth/`, `webhook/`) under the ignored data folder, one secret a file as in AWS. Writes go
 * through a rename so a crash never leaves half a file.
 */
class FileSecrets {
  constructor(private readonly dir: string) {}

  private path(tenantId: string): string {
    // Tenant ids are validated by the session verifier; this guards the file system regardless.
    if (!TENANT_ID_PATTERN.test(tenantId)) throw new Error('invalid tenant id');
    return join(this.dir, tenantId);
  }

  async get(tenantId: string): Promise<string | undefined> {
    try {
      return await readFile(this.path(tenantId), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async put(tenantId: string, value: string): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const target = this.path(tenantId);
    const temp = `${target}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(temp, value, { mode: 0o600 });
    await rename(temp, target);
  }

  async delete(tenantId: string): Promise<void> {
    await rm(this.path(tenantId), { force: true });
  }
}

/** One JSON file per tenant in one kind's folder (`oauth/`, `webhook/`). */
class FileTenantSecrets<T> {
  private readonly files: FileSecrets;
  constructor(dir: string, kind: 'oauth' | 'webhook') {
    this.files = new FileSecrets(join(dir, kind));
  }
  save(tenantId: string, value: T): Promise<void> {
    return this.files.put(tenantId, JSON.stringify(value));
  }
  async get(tenantId: string): Promise<T | undefined> {
    const text = await this.files.get(tenantId);
    return text === undefined ? undefined : (JSON.parse(text) as T);
  }
  delete(tenantId: string): Promise<void> {
    return this.files.delete(tenantId);
  }
}

export class FileTokenStore extends FileTenantSecrets<StoredToken> implements TokenStore {
  constructor(dir: string) {
    super(dir, 'oauth');
  }
}

export class FileWebhookSecretStore
  extends FileTenantSecrets<StoredWebhookSecret>
  implements WebhookSecretStore
{
  constructor(dir: string) {
    super(dir, 'webhook');
  }
}

/**
 * Local data written before tokens and webhook secrets were split: one `{tenant}.json` holding
 * `{token, webhookSecret?}`. Moves each into the two stores and removes it, so a restored
 * connection keeps verifying its endpoint and no token is left behind. Returns how many moved.
 */
export async function migrateLegacyFileSecrets(dir: string): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
  const tokens = new FileTokenStore(dir);
  const webhookSecrets = new FileWebhookSecretStore(dir);
  let moved = 0;
  for (const name of names) {
    const tenantId = name.replace(/\.json$/, '');
    if (name === tenantId || !TENANT_ID_PATTERN.test(tenantId)) continue;
    const legacy = JSON.parse(await readFile(join(dir, name), 'utf8')) as {
      token?: StripeToken;
      webhookSecret?: string;
    };
    if (legacy.token) {
      await tokens.save(tenantId, tokenToStore(legacy.token));
      if (legacy.webhookSecret) {
        await webhookSecrets.save(tenantId, {
          secret: legacy.webhookSecret,
          stripeAccountId: legacy.token.stripe_user_id,
        });
      }
    }
    await rm(join(dir, name), { force: true });
    moved += 1;
  }
  return moved;
}
