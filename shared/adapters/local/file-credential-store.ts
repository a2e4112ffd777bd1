import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { StripeToken } from '../../domain/integration.ts';
import { TENANT_ID_PATTERN } from '../../domain/tenant.ts';
import { type CredentialStore, type TenantCredential, withToken } from '../../ports/credential-store.ts';

/**
 * The local stack's stand-in for Secrets Manager: one owner-only JSON file per tenant under the
 * ignored data folder. Writes go through a rename so a crash never leaves half a file.
 */
export class FileCredentialStore implements CredentialStore {
  constructor(private readonly dir: string) {}

  private path(tenantId: string): string {
    // Tenant ids are validated by the session verifier; this guards the file system regardless.
    if (!TENANT_ID_PATTERN.test(tenantId)) throw new Error('invalid tenant id');
    return join(this.dir, `${tenantId}.json`);
  }

  async get(tenantId: string): Promise<TenantCredential | undefined> {
    try {
      return JSON.parse(await readFile(this.path(tenantId), 'utf8')) as TenantCredential;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async saveToken(tenantId: string, token: StripeToken): Promise<void> {
    const current = await this.get(tenantId);
    await this.write(tenantId, withToken(current, token));
  }

  async setWebhookSecret(tenantId: string, webhookSecret: string): Promise<boolean> {
    const current = await this.get(tenantId);
    if (!current) return false;
    await this.write(tenantId, { ...current, webhookSecret });
    return true;
  }

  async delete(tenantId: string): Promise<void> {
    await rm(this.path(tenantId), { force: true });
  }

  private async write(tenantId: string, value: TenantCredential): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const target = this.path(tenantId);
    const temp = `${target}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(temp, JSON.stringify(value), { mode: 0o600 });
    await rename(temp, target);
  }
}
