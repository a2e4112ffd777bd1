import { ConfigError } from '../errors/config-error.ts';

/**
 * Start-up configuration (README "Configuration").
 *
 * Functions read only the sections they need, so a function that never talks to Stripe does not
 * need (and is not granted) the platform key. Every problem found is reported at once, each
 * naming its variable and never echoing its value, since several of them are secrets.
 */
export type Env = Readonly<Record<string, string | undefined>>;

export type SecretSource =
  | { readonly kind: 'value'; readonly value: string }
  | { readonly kind: 'secret'; readonly secretId: string };

export interface StripeConfig {
  readonly clientId: string;
  readonly apiBaseUrl: URL;
  readonly connectBaseUrl: URL;
}

/** Separate from `stripe` so functions that never call Stripe's API need no key (nor its grant). */
export interface StripeKeyConfig {
  readonly secretKey: SecretSource;
}

export interface OAuthConfig {
  /** The public base of this API (webhook URLs are built from it). */
  readonly apiBaseUrl: string;
  readonly redirectUri: string;
  readonly appBaseUrl: string;
  /** The state cookie may drop `Secure` only when the callback itself is plain http on localhost. */
  readonly secureCookies: boolean;
}

export type SessionConfig =
  | { readonly kind: 'hs256'; readonly secret: Uint8Array }
  | { readonly kind: 'jwks'; readonly jwksUrl: URL; readonly issuer: string; readonly audience: string };

/** The platform's Connect webhook endpoint secret: a value locally, a secret name when deployed. */
export interface ConnectWebhookConfig {
  readonly secret: SecretSource | undefined;
}

export interface StorageConfig {
  readonly tableName: string;
  /** Set for dynalite / DynamoDB Local; unset in AWS. */
  readonly dynamoDbEndpoint: string | undefined;
  readonly credentialsSecretPrefix: string;
}

export interface RevocationQueueConfig {
  readonly revocationQueueUrl: string;
}

export interface BackfillQueueConfig {
  readonly backfillQueueUrl: string;
}

export interface ErasureQueueConfig {
  readonly erasureQueueUrl: string;
}

export interface ReconcileQueueConfig {
  readonly reconcileQueueUrl: string;
}

export interface Config {
  stripe: StripeConfig;
  stripeKey: StripeKeyConfig;
  connectWebhook: ConnectWebhookConfig;
  oauth: OAuthConfig;
  session: SessionConfig;
  storage: StorageConfig;
  revocationQueue: RevocationQueueConfig;
  backfillQueue: BackfillQueueConfig;
  erasureQueue: ErasureQueueConfig;
  reconcileQueue: ReconcileQueueConfig;
}

export type ConfigSection = keyof Config;

const CLIENT_ID = /^ca_[A-Za-z0-9]{4,128}$/;
const SECRET_KEY = /^(sk|rk)_(test|live)_[A-Za-z0-9]{8,255}$/;
const SECRET_PREFIX = /^[A-Za-z0-9/_+=.@-]{1,200}$/;
const WEBHOOK_SECRET = /^whsec_[A-Za-z0-9+/=_-]{16,256}$/;
const TABLE_NAME = /^[A-Za-z0-9_.-]{3,255}$/;

class Reader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env) {}

  /** Empty strings count as unset: CloudFormation parameters cannot express "absent". */
  optional(name: string): string | undefined {
    const value = this.env[name]?.trim();
    return value ? value : undefined;
  }

  required(name: string, meaning: string): string {
    const value = this.optional(name);
    if (value === undefined) this.problems.push(`${name} is required (${meaning})`);
    return value ?? '';
  }

  matching(name: string, value: string | undefined, pattern: RegExp, expected: string): void {
    if (value !== undefined && value !== '' && !pattern.test(value)) {
      this.problems.push(`${name} is malformed: expected ${expected}`);
    }
  }

  url(name: string, value: string | undefined, fallback?: string): URL {
    const raw = value ?? fallback;
    if (raw === undefined || raw === '') return new URL('http://invalid.invalid');
    try {
      const url = new URL(raw);
      if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('scheme');
      if (url.username || url.password || url.search || url.hash) throw new Error('extras');
      return url;
    } catch {
      this.problems.push(
        `${name} is malformed: expected an absolute http(s) URL without credentials, query or fragment`,
      );
      return new URL('http://invalid.invalid');
    }
  }
}

function trimSlash(url: URL): string {
  return url.toString().replace(/\/+$/, '');
}

function isLocalHttp(url: URL): boolean {
  return url.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
}

const readers: { [K in ConfigSection]: (r: Reader) => Config[K] } = {
  stripe(r) {
    const clientId = r.required('STRIPE_CONNECT_CLIENT_ID', "the platform's Connect client id, ca_…");
    r.matching('STRIPE_CONNECT_CLIENT_ID', clientId, CLIENT_ID, 'ca_ followed by letters and digits');
    return {
      clientId,
      apiBaseUrl: r.url('STRIPE_API_BASE_URL', r.optional('STRIPE_API_BASE_URL'), 'https://api.stripe.com'),
      connectBaseUrl: r.url(
        'STRIPE_CONNECT_BASE_URL',
        r.optional('STRIPE_CONNECT_BASE_URL'),
        'https://connect.stripe.com',
      ),
    };
  },

  stripeKey(r) {
    const keyValue = r.optional('STRIPE_SECRET_KEY');
    const keySecretId = r.optional('STRIPE_SECRET_KEY_SECRET_ID');
    if (keyValue && keySecretId) {
      r.problems.push('STRIPE_SECRET_KEY and STRIPE_SECRET_KEY_SECRET_ID are both set: set only one');
    } else if (keyValue && r.optional('AWS_LAMBDA_FUNCTION_NAME')) {
      r.problems.push(
        'STRIPE_SECRET_KEY must not be set on a deployed function: store the key in Secrets Manager and set STRIPE_SECRET_KEY_SECRET_ID',
      );
    } else if (keyValue) {
      r.matching('STRIPE_SECRET_KEY', keyValue, SECRET_KEY, 'sk_test_…, sk_live_…, rk_test_… or rk_live_…');
      return { secretKey: { kind: 'value', value: keyValue } };
    } else if (keySecretId) {
      return { secretKey: { kind: 'secret', secretId: keySecretId } };
    } else {
      r.problems.push(
        'STRIPE_SECRET_KEY is required (the platform secret key; deployed functions set STRIPE_SECRET_KEY_SECRET_ID instead)',
      );
    }
    return { secretKey: { kind: 'value', value: '' } };
  },

  connectWebhook(r) {
    const value = r.optional('STRIPE_CONNECT_WEBHOOK_SECRET');
    const secretId = r.optional('STRIPE_CONNECT_WEBHOOK_SECRET_SECRET_ID');
    if (value && secretId) {
      r.problems.push(
        'STRIPE_CONNECT_WEBHOOK_SECRET and STRIPE_CONNECT_WEBHOOK_SECRET_SECRET_ID are both set: set only one',
      );
      return { secret: undefined };
    }
    if (value && r.optional('AWS_LAMBDA_FUNCTION_NAME')) {
      r.problems.push(
        'STRIPE_CONNECT_WEBHOOK_SECRET must not be set on a deployed function: store it in Secrets Manager and set STRIPE_CONNECT_WEBHOOK_SECRET_SECRET_ID',
      );
    }
    r.matching(
      'STRIPE_CONNECT_WEBHOOK_SECRET',
      value,
      WEBHOOK_SECRET,
      'whsec_ followed by 16 to 256 characters',
    );
    if (value) return { secret: { kind: 'value', value } };
    return { secret: secretId ? { kind: 'secret', secretId } : undefined };
  },

  oauth(r) {
    const base = r.url(
      'OAUTH_REDIRECT_BASE_URL',
      r.required('OAUTH_REDIRECT_BASE_URL', 'base of the OAuth callback URL, e.g. https://joincompass.ai'),
    );
    const appRaw = r.optional('APP_BASE_URL');
    const app = appRaw === undefined ? base : r.url('APP_BASE_URL', appRaw);
    return {
      apiBaseUrl: trimSlash(base),
      redirectUri: `${trimSlash(base)}/api/connect/stripe/callback`,
      appBaseUrl: trimSlash(app),
      secureCookies: !isLocalHttp(base),
    };
  },

  session(r) {
    const secret = r.optional('SESSION_JWT_SECRET');
    const jwksUrl = r.optional('SESSION_JWKS_URL');
    if (secret && jwksUrl) {
      r.problems.push('SESSION_JWT_SECRET and SESSION_JWKS_URL are both set: set only one');
    }
    if (jwksUrl) {
      return {
        kind: 'jwks',
        jwksUrl: r.url('SESSION_JWKS_URL', jwksUrl),
        issuer: r.required('SESSION_JWT_ISSUER', 'expected iss of Compass session tokens'),
        audience: r.required('SESSION_JWT_AUDIENCE', 'expected aud of Compass session tokens'),
      };
    }
    if (!secret) {
      r.problems.push(
        'SESSION_JWT_SECRET or SESSION_JWKS_URL is required (how Compass session tokens are verified)',
      );
      return { kind: 'hs256', secret: new Uint8Array() };
    }
    if (Buffer.byteLength(secret) < 32) {
      r.problems.push('SESSION_JWT_SECRET is malformed: expected at least 32 bytes');
    }
    return { kind: 'hs256', secret: new TextEncoder().encode(secret) };
  },

  storage(r) {
    const tableName = r.required('TABLE_NAME', 'the DynamoDB table');
    r.matching('TABLE_NAME', tableName, TABLE_NAME, 'a DynamoDB table name');
    const endpoint = r.optional('DYNAMODB_ENDPOINT');
    if (endpoint) r.url('DYNAMODB_ENDPOINT', endpoint);
    const prefix = r.optional('CREDENTIALS_SECRET_PREFIX') ?? 'compass-stripe-connect';
    r.matching(
      'CREDENTIALS_SECRET_PREFIX',
      prefix,
      SECRET_PREFIX,
      'characters allowed in Secrets Manager names',
    );
    return { tableName, dynamoDbEndpoint: endpoint, credentialsSecretPrefix: prefix.replace(/\/+$/, '') };
  },

  revocationQueue(r) {
    const revocationQueueUrl = r.required('REVOCATION_QUEUE_URL', 'SQS queue for retried Stripe revocations');
    r.url('REVOCATION_QUEUE_URL', revocationQueueUrl || undefined);
    return { revocationQueueUrl };
  },

  backfillQueue(r) {
    const backfillQueueUrl = r.required('BACKFILL_QUEUE_URL', 'SQS queue for backfill jobs');
    r.url('BACKFILL_QUEUE_URL', backfillQueueUrl || undefined);
    return { backfillQueueUrl };
  },

  erasureQueue(r) {
    const erasureQueueUrl = r.required('ERASURE_QUEUE_URL', 'SQS queue for erasures of disconnected tenants');
    r.url('ERASURE_QUEUE_URL', erasureQueueUrl || undefined);
    return { erasureQueueUrl };
  },

  reconcileQueue(r) {
    const reconcileQueueUrl = r.required('RECONCILE_QUEUE_URL', 'SQS queue for Events API catch-up sweeps');
    r.url('RECONCILE_QUEUE_URL', reconcileQueueUrl || undefined);
    return { reconcileQueueUrl };
  },
};

/**
 * Reads and validates the named sections, throwing one `ConfigError` that lists every problem.
 */
export function loadConfig<S extends ConfigSection>(env: Env, sections: readonly S[]): Pick<Config, S> {
  const reader = new Reader(env);
  const config = {} as Pick<Config, S>;
  for (const section of sections) {
    config[section] = readers[section](reader) as Pick<Config, S>[S];
  }
  if (reader.problems.length > 0) throw new ConfigError(reader.problems);
  return config;
}
