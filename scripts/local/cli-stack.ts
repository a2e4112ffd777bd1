import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import Stripe from 'stripe';
import { createDocumentClient } from '#shared/adapters/dynamodb/document-client.ts';
import { DynamoDbIntegrationRepository } from '#shared/adapters/dynamodb/integration-repository-dynamodb.ts';
import { startDynaliteWithTable } from '#shared/adapters/local/dynalite-server.ts';
import { InProcessQueues } from '#shared/adapters/local/in-process-queues.ts';
import { createSessionVerifier } from '#shared/adapters/session/session-verifier.ts';
import { createStripeClient } from '#shared/adapters/stripe/stripe-client.ts';
import { type Env, loadConfig, type OAuthConfig, type StripeConfig } from '#shared/config/config.ts';
import { ConfigError } from '#shared/errors/config-error.ts';
import { systemClock } from '#shared/ports/clock.ts';
import type { Log } from '#shared/ports/log.ts';
import type { AppDependencies } from '../../functions/commons/dependencies.ts';
import { FakeStripe } from '../stripe-emulator/fake-stripe-server.ts';
import { acquireDataDirLock, DataDirInUseError, isProcessAlive, readDataDirHolder } from './data-dir-lock.ts';
import { type DevStackState, localDataDir, readDevStackState } from './dev-stack-state.ts';
import { createLocalDependencies } from './local-dependencies.ts';
import { LOCAL_TABLE_NAME } from './local-stack.ts';
import { type StripeEmulator, startStripeEmulator } from './stripe-emulator.ts';

/**
 * What a local CLI (`npm run backfill`, `npm run reconcile`) works against, found the way a
 * newcomer expects, with nothing to set:
 * - `npm run dev` runs on the data folder (`LOCAL_DATA_DIR`, default `.data/`): its DynamoDB
 *   endpoint (from its state file; the folder itself is locked by it) and its Stripe: its
 *   built-in emulator's address and made-up platform key, or, when it runs with real Stripe, the
 *   `STRIPE_*` variables, which this process must then have too.
 * - it does not: this process takes the folder's lock, opens dynalite on it, and uses Stripe
 *   as `npm run dev` would: the `STRIPE_*` variables if any is set, else its own built-in
 *   emulator (on a free port, granting the demo account again if the data says it is connected).
 */
export interface CliStack {
  readonly dataDir: string;
  readonly tableName: string;
  readonly dynamoEndpoint: string;
  /** The stand-in for Secrets Manager (tenant tokens, webhook secrets). */
  readonly secretsDir: string;
  /** The running `npm run dev` used; `undefined` when this process opened the folder itself. */
  readonly devStack: DevStackState | undefined;
  readonly stripe: StripeConfig;
  readonly stripeSecretKey: string;
  /** Where the Stripe settings came from. */
  readonly stripeSource: 'dev-emulator' | 'own-emulator' | 'environment';
  /** The one account the built-in emulator holds (`undefined` with real Stripe). */
  readonly emulatorAccountId: string | undefined;
  readonly oauth: OAuthConfig;
  /** One line saying what this is using, for the CLI to print on stderr. */
  readonly description: string;
  /** Stops what this process started (dynalite, emulator) and lets the folder go. */
  close(): Promise<void>;
}

export interface OpenCliStackOptions {
  readonly env: NodeJS.ProcessEnv;
  /** Named to a `npm run dev` started meanwhile ("in use by npm run backfill"). */
  readonly command: string;
  /** Notes for the user (stderr), e.g. that `STRIPE_*` variables are not used. */
  readonly notice?: (text: string) => void;
  /** Where `.data/` is relative to (default: the working directory, npm's package root). */
  readonly cwd?: string;
  /** How long to wait for a `npm run dev` that holds the folder but is still starting. */
  readonly waitForDevMs?: number;
}

/** Stripe refused the platform key (401): nothing was changed. */
export class StripeKeyRejectedError extends Error {
  override readonly name = 'StripeKeyRejectedError';
}

/** Stripe did not answer at all: nothing was changed. */
export class StripeUnreachableError extends Error {
  override readonly name = 'StripeUnreachableError';
}

const STRIPE_VARIABLES = ['STRIPE_API_BASE_URL', 'STRIPE_SECRET_KEY', 'STRIPE_CONNECT_CLIENT_ID'];

/**
 * Finds the running `npm run dev` on the data folder, or opens the folder itself (see
 * {@link CliStack}). Throws `DataDirInUseError` when another process (not a dev stack) holds the
 * folder, `ConfigError` when real Stripe is needed and its variables are missing or malformed.
 */
export async function openCliStack(options: OpenCliStackOptions): Promise<CliStack> {
  const dataDir = localDataDir(options.env, options.cwd);
  const running = await runningDevStack(dataDir);
  if (running) return useDevStack(dataDir, running, options);
  try {
    return await openDataDir(dataDir, options);
  } catch (error) {
    if (!(error instanceof DataDirInUseError) || error.holder?.command !== 'npm run dev') throw error;
    // A dev stack holds the folder but has not written its state yet: it is starting.
    const deadline = Date.now() + (options.waitForDevMs ?? 20_000);
    while (Date.now() < deadline && isProcessAlive(error.holder.pid)) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const started = await runningDevStack(dataDir);
      if (started) return useDevStack(dataDir, started, options);
    }
    throw error;
  }
}

/** The same ports as the dev stack, over the CLI stack's stores (in-process queues, no sessions). */
export function createCliDependencies(
  stack: CliStack,
  extra: { readonly log?: Log; readonly queues?: InProcessQueues } = {},
): AppDependencies {
  return createLocalDependencies({
    dynamoEndpoint: stack.dynamoEndpoint,
    tableName: stack.tableName,
    secretsDir: stack.secretsDir,
    stripe: stack.stripe,
    stripeSecretKey: stack.stripeSecretKey,
    oauth: stack.oauth,
    // A CLI verifies no sessions: a key nobody has.
    sessions: createSessionVerifier({ kind: 'hs256', secret: randomBytes(32) }),
    queues: extra.queues ?? new InProcessQueues(),
    clock: systemClock,
    log: extra.log ?? { info() {}, warn() {}, error() {} },
  });
}

/**
 * Asks Stripe whether it takes the platform key (`GET /v1/account`, which costs no connected
 * account's allowance) before anything is recorded, so a wrong key is a clear error instead of
 * a run marked failed. Only a 401 or no answer counts: a restricted key may lack this one read.
 */
export async function checkPlatformKey(
  stack: Pick<CliStack, 'stripe' | 'stripeSecretKey' | 'stripeSource' | 'devStack'>,
): Promise<void> {
  const stripe = createStripeClient({
    secretKey: stack.stripeSecretKey,
    apiBaseUrl: stack.stripe.apiBaseUrl,
    timeoutMs: 10_000,
  });
  const where = stack.stripe.apiBaseUrl.origin;
  try {
    await stripe.accounts.retrieveCurrent();
  } catch (error) {
    if (error instanceof Stripe.errors.StripeAuthenticationError) {
      throw new StripeKeyRejectedError(
        stack.stripeSource === 'environment'
          ? `Stripe at ${where} refused the platform key (401): check STRIPE_SECRET_KEY${stack.devStack ? ' (and STRIPE_API_BASE_URL): use the ones npm run dev runs with' : ' and STRIPE_API_BASE_URL'}. Nothing was changed.`
          : `The Stripe emulator at ${where} refused its platform key (401): restart npm run dev. Nothing was changed.`,
      );
    }
    if (error instanceof Stripe.errors.StripeConnectionError) {
      throw new StripeUnreachableError(
        `Stripe at ${where} does not answer${stack.stripeSource === 'environment' ? ': check STRIPE_API_BASE_URL' : ''}. Nothing was changed.`,
      );
    }
  }
}

/** The dev stack's state if it runs: its process alive and, when it holds the lock, the holder. */
async function runningDevStack(dataDir: string): Promise<DevStackState | undefined> {
  const state = await readDevStackState(dataDir);
  if (!state) return undefined;
  // A state file a killed stack left, whose pid now belongs to another live process.
  const holder = await readDataDirHolder(dataDir);
  return holder && holder.pid !== state.pid ? undefined : state;
}

async function useDevStack(
  dataDir: string,
  state: DevStackState,
  options: OpenCliStackOptions,
): Promise<CliStack> {
  const stack = { dataDir, dynamoEndpoint: state.dynamoEndpoint, devStack: state };
  const dev = `npm run dev (process ${state.pid}, ${state.url})`;
  if (state.emulatorUrl) {
    const ignored = STRIPE_VARIABLES.filter((name) => options.env[name]);
    if (ignored.length > 0) {
      options.notice?.(
        `Note: ${ignored.join(', ')} not used: ${dev} uses its built-in Stripe emulator, and so does this.\n`,
      );
    }
    const accountId = await emulatorAccount(state.emulatorUrl);
    return build(stack, options.env, emulatorStripe(state.emulatorUrl), 'dev-emulator', accountId, {
      description: `Using the running ${dev} and its Stripe emulator (${state.emulatorUrl}).`,
      close: async () => undefined,
    });
  }
  return build(stack, options.env, undefined, 'environment', undefined, {
    description: `Using the running ${dev}, with the Stripe the STRIPE_* variables name.`,
    close: async () => undefined,
    missingStripe: `${dev} uses real Stripe, not its emulator: run this with the same STRIPE_CONNECT_CLIENT_ID and STRIPE_SECRET_KEY (and STRIPE_API_BASE_URL) it runs with`,
  });
}

async function openDataDir(dataDir: string, options: OpenCliStackOptions): Promise<CliStack> {
  const stripeConfigured = STRIPE_VARIABLES.some((name) => options.env[name]);
  // Bad Stripe variables fail before the folder is touched.
  if (stripeConfigured) stripeSettings(options.env, undefined);
  const lock = await acquireDataDirLock(dataDir, { command: options.command });
  let dynalite: Awaited<ReturnType<typeof startDynaliteWithTable>> | undefined;
  let emulator: StripeEmulator | undefined;
  const close = async () => {
    await dynalite?.close();
    await emulator?.stripe.stop();
    await lock.release();
  };
  try {
    dynalite = await startDynaliteWithTable(LOCAL_TABLE_NAME, { path: join(dataDir, 'dynamodb') });
    const stack = { dataDir, dynamoEndpoint: dynalite.endpoint, devStack: undefined };
    if (stripeConfigured) {
      return build(stack, options.env, undefined, 'environment', undefined, {
        description: `npm run dev is not running: opened ${dataDir}, with the Stripe the STRIPE_* variables name.`,
        close,
      });
    }
    emulator = await startStripeEmulator({ port: 0 });
    await regrantDemoAccount(dynalite.endpoint, emulator);
    return build(
      stack,
      options.env,
      emulatorStripe(emulator.url),
      'own-emulator',
      emulator.stripe.consentAccount,
      {
        description: `npm run dev is not running: opened ${dataDir}, with a built-in Stripe emulator of its own (the demo clinic).`,
        close,
      },
    );
  } catch (error) {
    await close();
    throw error;
  }
}

/** The emulator's made-up credentials: those the test suite's fake Stripe is built with. */
function emulatorStripe(url: string): Env {
  const fake = new FakeStripe();
  return {
    STRIPE_CONNECT_CLIENT_ID: fake.clientId,
    STRIPE_SECRET_KEY: fake.secretKey,
    STRIPE_API_BASE_URL: url,
    STRIPE_CONNECT_BASE_URL: url,
  };
}

/** The demo account the running emulator holds (its page's own answer), so a mismatch is caught. */
async function emulatorAccount(emulatorUrl: string): Promise<string> {
  try {
    const response = await fetch(`${emulatorUrl}/_emulator/events`, { signal: AbortSignal.timeout(5000) });
    const body = (await response.json()) as { account?: unknown };
    if (typeof body.account === 'string') return body.account;
  } catch {
    // Answered below.
  }
  throw new StripeUnreachableError(
    `The Stripe emulator of npm run dev (${emulatorUrl}) does not answer: is npm run dev stopping? Nothing was changed.`,
  );
}

/** As `npm run dev` does at start: the emulator forgets, the data remembers a connection. */
async function regrantDemoAccount(dynamoEndpoint: string, emulator: StripeEmulator): Promise<void> {
  const db = createDocumentClient({ endpoint: dynamoEndpoint });
  const accountId = emulator.stripe.consentAccount;
  const integration = await new DynamoDbIntegrationRepository(db, LOCAL_TABLE_NAME).findByStripeAccount(
    accountId,
  );
  if (integration?.status === 'connected') emulator.stripe.connectAccount(accountId, integration.livemode);
}

function stripeSettings(env: NodeJS.ProcessEnv, apiBase: string | undefined, missingStripe?: string) {
  const config = loadConfig(
    { ...env, OAUTH_REDIRECT_BASE_URL: apiBase ?? env.OAUTH_REDIRECT_BASE_URL ?? 'http://localhost:3000' },
    ['stripe', 'stripeKey', 'oauth'],
  );
  if (config.stripeKey.secretKey.kind !== 'value') {
    throw new ConfigError([
      missingStripe ?? 'STRIPE_SECRET_KEY is required locally (not STRIPE_SECRET_KEY_SECRET_ID)',
    ]);
  }
  return { stripe: config.stripe, secretKey: config.stripeKey.secretKey.value, oauth: config.oauth };
}

function build(
  stack: Pick<CliStack, 'dataDir' | 'dynamoEndpoint' | 'devStack'>,
  env: NodeJS.ProcessEnv,
  emulator: Env | undefined,
  stripeSource: CliStack['stripeSource'],
  emulatorAccountId: string | undefined,
  rest: { description: string; close: () => Promise<void>; missingStripe?: string },
): CliStack {
  // The emulator's settings replace every STRIPE_* variable, as in `npm run dev`.
  const stripeEnv = emulator
    ? {
        ...Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith('STRIPE_'))),
        ...emulator,
      }
    : env;
  let settings: ReturnType<typeof stripeSettings>;
  try {
    settings = stripeSettings(stripeEnv, stack.devStack?.url, rest.missingStripe);
  } catch (error) {
    if (error instanceof ConfigError && rest.missingStripe && !STRIPE_VARIABLES.some((name) => env[name])) {
      throw new ConfigError([rest.missingStripe]);
    }
    throw error;
  }
  return {
    ...stack,
    tableName: LOCAL_TABLE_NAME,
    secretsDir: join(stack.dataDir, 'secrets'),
    stripe: settings.stripe,
    stripeSecretKey: settings.secretKey,
    stripeSource,
    emulatorAccountId,
    oauth: settings.oauth,
    description: rest.description,
    close: rest.close,
  };
}
