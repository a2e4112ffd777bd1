import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  FileTokenStore,
  FileWebhookSecretStore,
  migrateLegacyFileSecrets,
} from '#shared/adapters/local/file-credential-stores.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'file-secrets-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const WHSEC = `whsec_${'legacy'.repeat(4)}`;

describe('migrateLegacyFileSecrets', () => {
  it('moves a one-file-per-tenant secret into the token and webhook stores and removes it', async () => {
    const token = {
      access_token: 'sk_test_legacy',
      refresh_token: 'rt_1',
      token_type: 'bearer',
      stripe_publishable_key: 'pk_test_1',
      scope: 'read_write',
      livemode: false,
      stripe_user_id: 'acct_1Legacy',
    };
    await writeFile(join(dir, 'demo-clinic.json'), JSON.stringify({ token, webhookSecret: WHSEC }));

    expect(await migrateLegacyFileSecrets(dir)).toBe(1);

    expect(await new FileTokenStore(dir).get('demo-clinic')).toEqual({
      access_token: 'sk_test_legacy',
      refresh_token: 'rt_1',
      scope: 'read_write',
      livemode: false,
      stripe_user_id: 'acct_1Legacy',
    });
    expect(await new FileWebhookSecretStore(dir).get('demo-clinic')).toEqual({
      secret: WHSEC,
      stripeAccountId: 'acct_1Legacy',
    });
    expect((await readdir(dir)).sort()).toEqual(['oauth', 'webhook']);
    expect(await migrateLegacyFileSecrets(dir)).toBe(0);
  });

  it('does nothing without a secrets folder', async () => {
    expect(await migrateLegacyFileSecrets(join(dir, 'missing'))).toBe(0);
  });
});
