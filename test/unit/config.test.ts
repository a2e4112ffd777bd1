import { describe, expect, it } from 'vitest';
import { type ConfigSection, type Env, loadConfig } from '#shared/config/config.ts';
import { ConfigError } from '#shared/errors/config-error.ts';

/** Live-mode key prefixes, assembled so that no literal in the repository looks like a leaked key. */
const LIVE_SK = ['sk', 'live', ''].join('_');
const LIVE_RK = ['rk', 'live', ''].join('_');

/** README "Configuration": a missing or malformed setting fails at start-up, naming it. */

const SESSION_SECRET = 'S3ssionSecretSHOULDNOTLEAK0123456789abcd'; // 40 bytes
const SECRET_KEY = 'sk_test_SHOULDNOTLEAK123';

const ALL_SECTIONS: readonly ConfigSection[] = [
  'stripe',
  'stripeKey',
  'oauth',
  'session',
  'storage',
  'revocationQueue',
  'backfillQueue',
];

function validEnv(overrides: Record<string, string | undefined> = {}): Env {
  return {
    STRIPE_CONNECT_CLIENT_ID: 'ca_TestClientId123',
    STRIPE_SECRET_KEY: SECRET_KEY,
    OAUTH_REDIRECT_BASE_URL: 'https://joincompass.ai',
    SESSION_JWT_SECRET: SESSION_SECRET,
    TABLE_NAME: 'compass-stripe-connect',
    REVOCATION_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/revocations',
    BACKFILL_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/backfill',
    ...overrides,
  };
}

/** Runs `loadConfig` expecting a `ConfigError`, and returns it. */
function configError(env: Env, sections: readonly ConfigSection[]): ConfigError {
  try {
    loadConfig(env, sections);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected loadConfig to throw a ConfigError');
}

/** The problems that mention `name` (a problem names its variable). */
function problemsNaming(error: ConfigError, name: string): string[] {
  return error.problems.filter((problem) => new RegExp(`\\b${name}\\b`).test(problem));
}

function expectNoLeak(error: ConfigError, value: string): void {
  expect(error.message).not.toContain(value);
  for (const problem of error.problems) expect(problem).not.toContain(value);
}

describe('loadConfig', () => {
  it('reads every section from a complete environment', () => {
    // Arrange
    const env = validEnv();

    // Act
    const config = loadConfig(env, ALL_SECTIONS);

    // Assert
    expect(config.stripe.clientId).toBe('ca_TestClientId123');
    expect(config.stripeKey.secretKey).toEqual({ kind: 'value', value: SECRET_KEY });
    expect(config.oauth.redirectUri).toBe('https://joincompass.ai/api/connect/stripe/callback');
    expect(config.session).toEqual({ kind: 'hs256', secret: new TextEncoder().encode(SESSION_SECRET) });
    expect(config.storage.tableName).toBe('compass-stripe-connect');
    expect(config.revocationQueue).toEqual({
      revocationQueueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/revocations',
    });
    expect(config.backfillQueue).toEqual({
      backfillQueueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/backfill',
    });
  });

  it('reads only the sections asked for, so other variables are not required', () => {
    // Arrange
    const env: Env = { TABLE_NAME: 'compass-stripe-connect' };

    // Act
    const config = loadConfig(env, ['storage']);

    // Assert
    expect(Object.keys(config)).toEqual(['storage']);
    expect(config.storage.tableName).toBe('compass-stripe-connect');
  });

  it('reports every problem at once, each naming its variable', () => {
    // Arrange
    const env: Env = {};

    // Act
    const error = configError(env, ALL_SECTIONS);

    // Assert
    for (const name of [
      'STRIPE_CONNECT_CLIENT_ID',
      'STRIPE_SECRET_KEY',
      'OAUTH_REDIRECT_BASE_URL',
      'SESSION_JWT_SECRET',
      'TABLE_NAME',
      'REVOCATION_QUEUE_URL',
      'BACKFILL_QUEUE_URL',
    ]) {
      expect(problemsNaming(error, name), name).not.toHaveLength(0);
      expect(error.message).toContain(name);
    }
  });

  it('reports several malformed values together without echoing any of them', () => {
    // Arrange
    const env = validEnv({
      STRIPE_CONNECT_CLIENT_ID: 'pk_live_SHOULDNOTLEAKCLIENT',
      STRIPE_SECRET_KEY: `${LIVE_SK}SHOULDNOTLEAK123!`,
      TABLE_NAME: 'x',
    });

    // Act
    const error = configError(env, ALL_SECTIONS);

    // Assert
    expect(error.problems).toHaveLength(3);
    expect(problemsNaming(error, 'STRIPE_CONNECT_CLIENT_ID')).toHaveLength(1);
    expect(problemsNaming(error, 'STRIPE_SECRET_KEY')).toHaveLength(1);
    expect(problemsNaming(error, 'TABLE_NAME')).toHaveLength(1);
    expectNoLeak(error, 'SHOULDNOTLEAK');
  });

  it('treats an empty or blank string as unset', () => {
    // Arrange
    const env = validEnv({ STRIPE_CONNECT_CLIENT_ID: '', TABLE_NAME: '   ' });

    // Act
    const error = configError(env, ['stripe', 'storage']);

    // Assert
    expect(problemsNaming(error, 'STRIPE_CONNECT_CLIENT_ID')[0]).toMatch(/required/);
    expect(problemsNaming(error, 'TABLE_NAME')[0]).toMatch(/required/);
  });

  describe('stripe', () => {
    it('defaults the API and Connect base URLs to Stripe', () => {
      // Arrange
      const env = validEnv();

      // Act
      const { stripe } = loadConfig(env, ['stripe']);

      // Assert
      expect(stripe.apiBaseUrl.href).toBe('https://api.stripe.com/');
      expect(stripe.connectBaseUrl.href).toBe('https://connect.stripe.com/');
    });

    it('uses the defaults when the base URLs are empty strings', () => {
      // Arrange
      const env = validEnv({ STRIPE_API_BASE_URL: '', STRIPE_CONNECT_BASE_URL: '' });

      // Act
      const { stripe } = loadConfig(env, ['stripe']);

      // Assert
      expect(stripe.apiBaseUrl.href).toBe('https://api.stripe.com/');
      expect(stripe.connectBaseUrl.href).toBe('https://connect.stripe.com/');
    });

    it('keeps a fake server address, port and protocol included', () => {
      // Arrange
      const env = validEnv({
        STRIPE_API_BASE_URL: 'http://127.0.0.1:12111',
        STRIPE_CONNECT_BASE_URL: 'http://localhost:12112',
      });

      // Act
      const { stripe } = loadConfig(env, ['stripe']);

      // Assert
      expect(stripe.apiBaseUrl.protocol).toBe('http:');
      expect(stripe.apiBaseUrl.port).toBe('12111');
      expect(stripe.connectBaseUrl.host).toBe('localhost:12112');
    });

    it('requires STRIPE_CONNECT_CLIENT_ID', () => {
      // Arrange
      const env = validEnv({ STRIPE_CONNECT_CLIENT_ID: undefined });

      // Act
      const error = configError(env, ['stripe']);

      // Assert
      expect(error.problems).toHaveLength(1);
      expect(error.problems[0]).toMatch(/^STRIPE_CONNECT_CLIENT_ID is required/);
    });

    it.each(['pk_live_SHOULDNOTLEAK', 'ca_Qz7', 'ca_SHOULD NOT LEAK', 'acct_SHOULDNOTLEAK'])(
      'refuses a malformed client id %j without echoing it',
      (clientId) => {
        // Arrange
        const env = validEnv({ STRIPE_CONNECT_CLIENT_ID: clientId });

        // Act
        const error = configError(env, ['stripe']);

        // Assert
        expect(problemsNaming(error, 'STRIPE_CONNECT_CLIENT_ID')[0]).toMatch(/malformed/);
        expectNoLeak(error, clientId);
      },
    );

    it.each([
      ['STRIPE_API_BASE_URL', 'not a url'],
      ['STRIPE_API_BASE_URL', 'ftp://api.stripe.com'],
      ['STRIPE_CONNECT_BASE_URL', `https://user:${LIVE_SK}SHOULDNOTLEAK123@connect.stripe.com`],
      ['STRIPE_CONNECT_BASE_URL', 'https://connect.stripe.com/?token=SHOULDNOTLEAK'],
      ['STRIPE_API_BASE_URL', 'https://api.stripe.com/#SHOULDNOTLEAK'],
    ])('refuses %s=%j, naming it without echoing the value', (name, value) => {
      // Arrange
      const env = validEnv({ [name]: value });

      // Act
      const error = configError(env, ['stripe']);

      // Assert
      expect(error.problems).toHaveLength(1);
      expect(problemsNaming(error, name)[0]).toMatch(/malformed/);
      expectNoLeak(error, value);
    });
  });

  describe('stripeKey', () => {
    it('reads STRIPE_SECRET_KEY as a plain value', () => {
      // Arrange
      const env = validEnv({ STRIPE_SECRET_KEY: `${LIVE_RK}Restricted12345` });

      // Act
      const { stripeKey } = loadConfig(env, ['stripeKey']);

      // Assert
      expect(stripeKey.secretKey).toEqual({ kind: 'value', value: `${LIVE_RK}Restricted12345` });
    });

    it('reads STRIPE_SECRET_KEY_SECRET_ID as a Secrets Manager reference', () => {
      // Arrange
      const env = validEnv({
        STRIPE_SECRET_KEY: undefined,
        STRIPE_SECRET_KEY_SECRET_ID: 'compass/stripe/platform-key',
      });

      // Act
      const { stripeKey } = loadConfig(env, ['stripeKey']);

      // Assert
      expect(stripeKey.secretKey).toEqual({ kind: 'secret', secretId: 'compass/stripe/platform-key' });
    });

    it('treats an empty STRIPE_SECRET_KEY as unset when the secret id is given', () => {
      // Arrange
      const env = validEnv({ STRIPE_SECRET_KEY: '', STRIPE_SECRET_KEY_SECRET_ID: 'platform-key' });

      // Act
      const { stripeKey } = loadConfig(env, ['stripeKey']);

      // Assert
      expect(stripeKey.secretKey).toEqual({ kind: 'secret', secretId: 'platform-key' });
    });

    it('refuses both STRIPE_SECRET_KEY and STRIPE_SECRET_KEY_SECRET_ID, naming both', () => {
      // Arrange
      const env = validEnv({
        STRIPE_SECRET_KEY: `${LIVE_SK}SHOULDNOTLEAK123`,
        STRIPE_SECRET_KEY_SECRET_ID: 'platform-key',
      });

      // Act
      const error = configError(env, ['stripeKey']);

      // Assert
      expect(error.problems).toHaveLength(1);
      expect(error.problems[0]).toContain('STRIPE_SECRET_KEY');
      expect(error.problems[0]).toContain('STRIPE_SECRET_KEY_SECRET_ID');
      expectNoLeak(error, `${LIVE_SK}SHOULDNOTLEAK123`);
    });

    it('requires one of them', () => {
      // Arrange
      const env = validEnv({ STRIPE_SECRET_KEY: undefined });

      // Act
      const error = configError(env, ['stripeKey']);

      // Assert
      expect(error.problems).toHaveLength(1);
      expect(error.problems[0]).toMatch(/^STRIPE_SECRET_KEY is required/);
    });

    it.each([
      `${LIVE_SK}SHOULDNOTLEAK123!`,
      'pk_live_SHOULDNOTLEAK123',
      'sk_prod_SHOULDNOTLEAK123',
      'whsec_SHOULDNOTLEAK123',
    ])('refuses a malformed key %j without echoing it', (key) => {
      // Arrange
      const env = validEnv({ STRIPE_SECRET_KEY: key });

      // Act
      const error = configError(env, ['stripeKey']);

      // Assert
      expect(problemsNaming(error, 'STRIPE_SECRET_KEY')[0]).toMatch(/malformed/);
      expectNoLeak(error, key);
      expectNoLeak(error, 'SHOULDNOTLEAK');
    });
  });

  describe('oauth', () => {
    it.each([
      ['https://joincompass.ai', 'https://joincompass.ai/api/connect/stripe/callback'],
      ['https://joincompass.ai/', 'https://joincompass.ai/api/connect/stripe/callback'],
      ['https://joincompass.ai///', 'https://joincompass.ai/api/connect/stripe/callback'],
      ['https://example.com/compass/', 'https://example.com/compass/api/connect/stripe/callback'],
      ['http://localhost:3000', 'http://localhost:3000/api/connect/stripe/callback'],
    ])('builds the redirect URI from %j', (base, redirectUri) => {
      // Arrange
      const env = validEnv({ OAUTH_REDIRECT_BASE_URL: base });

      // Act
      const { oauth } = loadConfig(env, ['oauth']);

      // Assert
      expect(oauth.redirectUri).toBe(redirectUri);
    });

    it('defaults APP_BASE_URL to OAUTH_REDIRECT_BASE_URL without the trailing slash', () => {
      // Arrange
      const env = validEnv({ OAUTH_REDIRECT_BASE_URL: 'https://joincompass.ai/' });

      // Act
      const { oauth } = loadConfig(env, ['oauth']);

      // Assert
      expect(oauth.appBaseUrl).toBe('https://joincompass.ai');
    });

    it('defaults APP_BASE_URL when it is an empty string', () => {
      // Arrange
      const env = validEnv({ APP_BASE_URL: '' });

      // Act
      const { oauth } = loadConfig(env, ['oauth']);

      // Assert
      expect(oauth.appBaseUrl).toBe('https://joincompass.ai');
    });

    it('uses APP_BASE_URL when set', () => {
      // Arrange
      const env = validEnv({ APP_BASE_URL: 'https://app.joincompass.ai/' });

      // Act
      const { oauth } = loadConfig(env, ['oauth']);

      // Assert
      expect(oauth.appBaseUrl).toBe('https://app.joincompass.ai');
      expect(oauth.redirectUri).toBe('https://joincompass.ai/api/connect/stripe/callback');
    });

    it.each([
      ['http://localhost:3000', false],
      ['http://127.0.0.1:3000', false],
      ['https://localhost:3000', true],
      ['https://joincompass.ai', true],
      ['http://joincompass.example', true],
      ['http://localhost.evil.example', true],
      ['http://127.0.0.1.nip.io', true],
    ])('secureCookies for %j is %s', (base, secure) => {
      // Arrange
      const env = validEnv({ OAUTH_REDIRECT_BASE_URL: base });

      // Act
      const { oauth } = loadConfig(env, ['oauth']);

      // Assert
      expect(oauth.secureCookies).toBe(secure);
    });

    it('requires OAUTH_REDIRECT_BASE_URL, reporting it once', () => {
      // Arrange
      const env = validEnv({ OAUTH_REDIRECT_BASE_URL: undefined });

      // Act
      const error = configError(env, ['oauth']);

      // Assert
      expect(error.problems).toHaveLength(1);
      expect(error.problems[0]).toMatch(/^OAUTH_REDIRECT_BASE_URL is required/);
    });

    it.each([
      ['OAUTH_REDIRECT_BASE_URL', 'joincompass.ai'],
      ['OAUTH_REDIRECT_BASE_URL', 'javascript:alert(1)'],
      ['OAUTH_REDIRECT_BASE_URL', 'https://joincompass.ai/?next=SHOULDNOTLEAK'],
      ['OAUTH_REDIRECT_BASE_URL', 'https://admin:SHOULDNOTLEAK@joincompass.ai'],
      ['APP_BASE_URL', 'not a url SHOULDNOTLEAK'],
      ['APP_BASE_URL', 'data:text/html,SHOULDNOTLEAK'],
    ])('refuses %s=%j, naming it without echoing the value', (name, value) => {
      // Arrange
      const env = validEnv({ [name]: value });

      // Act
      const error = configError(env, ['oauth']);

      // Assert
      expect(error.problems).toHaveLength(1);
      expect(problemsNaming(error, name)[0]).toMatch(/malformed/);
      expectNoLeak(error, value);
    });
  });

  describe('session', () => {
    it('uses HS256 with the secret bytes', () => {
      // Arrange
      const env = validEnv();

      // Act
      const { session } = loadConfig(env, ['session']);

      // Assert
      expect(session.kind).toBe('hs256');
      expect(session.kind === 'hs256' && Buffer.from(session.secret).toString()).toBe(SESSION_SECRET);
    });

    it('accepts a secret of exactly 32 bytes', () => {
      // Arrange
      const env = validEnv({ SESSION_JWT_SECRET: 'a'.repeat(32) });

      // Act
      const { session } = loadConfig(env, ['session']);

      // Assert
      expect(session.kind === 'hs256' && session.secret.byteLength).toBe(32);
    });

    it('refuses a secret shorter than 32 bytes without echoing it', () => {
      // Arrange
      const shortSecret = 'SHOULDNOTLEAK_short_secret_1234'; // 31 bytes
      const env = validEnv({ SESSION_JWT_SECRET: shortSecret });

      // Act
      const error = configError(env, ['session']);

      // Assert
      expect(error.problems).toHaveLength(1);
      expect(error.problems[0]).toMatch(/^SESSION_JWT_SECRET is malformed/);
      expectNoLeak(error, shortSecret);
    });

    it('uses the JWKS with issuer and audience', () => {
      // Arrange
      const env = validEnv({
        SESSION_JWT_SECRET: undefined,
        SESSION_JWKS_URL: 'https://auth.joincompass.ai/.well-known/jwks.json',
        SESSION_JWT_ISSUER: 'https://auth.joincompass.ai/',
        SESSION_JWT_AUDIENCE: 'compass',
      });

      // Act
      const { session } = loadConfig(env, ['session']);

      // Assert
      expect(session).toEqual({
        kind: 'jwks',
        jwksUrl: new URL('https://auth.joincompass.ai/.well-known/jwks.json'),
        issuer: 'https://auth.joincompass.ai/',
        audience: 'compass',
      });
    });

    it('refuses both SESSION_JWT_SECRET and SESSION_JWKS_URL without echoing the secret', () => {
      // Arrange
      const env = validEnv({
        SESSION_JWKS_URL: 'https://auth.joincompass.ai/.well-known/jwks.json',
        SESSION_JWT_ISSUER: 'https://auth.joincompass.ai/',
        SESSION_JWT_AUDIENCE: 'compass',
      });

      // Act
      const error = configError(env, ['session']);

      // Assert
      expect(error.problems).toHaveLength(1);
      expect(error.problems[0]).toContain('SESSION_JWT_SECRET');
      expect(error.problems[0]).toContain('SESSION_JWKS_URL');
      expectNoLeak(error, SESSION_SECRET);
    });

    it('requires issuer and audience with a JWKS, naming each', () => {
      // Arrange
      const env = validEnv({
        SESSION_JWT_SECRET: undefined,
        SESSION_JWKS_URL: 'https://auth.joincompass.ai/.well-known/jwks.json',
      });

      // Act
      const error = configError(env, ['session']);

      // Assert
      expect(error.problems).toHaveLength(2);
      expect(problemsNaming(error, 'SESSION_JWT_ISSUER')[0]).toMatch(/required/);
      expect(problemsNaming(error, 'SESSION_JWT_AUDIENCE')[0]).toMatch(/required/);
    });

    it('requires the audience even when the issuer is set', () => {
      // Arrange
      const env = validEnv({
        SESSION_JWT_SECRET: undefined,
        SESSION_JWKS_URL: 'https://auth.joincompass.ai/.well-known/jwks.json',
        SESSION_JWT_ISSUER: 'https://auth.joincompass.ai/',
      });

      // Act
      const error = configError(env, ['session']);

      // Assert
      expect(error.problems).toEqual([expect.stringMatching(/^SESSION_JWT_AUDIENCE is required/)]);
    });

    it('refuses a malformed SESSION_JWKS_URL', () => {
      // Arrange
      const env = validEnv({
        SESSION_JWT_SECRET: undefined,
        SESSION_JWKS_URL: 'auth.joincompass.ai/jwks',
        SESSION_JWT_ISSUER: 'https://auth.joincompass.ai/',
        SESSION_JWT_AUDIENCE: 'compass',
      });

      // Act
      const error = configError(env, ['session']);

      // Assert
      expect(error.problems).toHaveLength(1);
      expect(problemsNaming(error, 'SESSION_JWKS_URL')[0]).toMatch(/malformed/);
    });

    it('requires one way of verifying sessions', () => {
      // Arrange
      const env = validEnv({ SESSION_JWT_SECRET: '' });

      // Act
      const error = configError(env, ['session']);

      // Assert
      expect(error.problems).toHaveLength(1);
      expect(error.problems[0]).toContain('SESSION_JWT_SECRET');
      expect(error.problems[0]).toContain('SESSION_JWKS_URL');
    });
  });

  describe('storage', () => {
    it('defaults the secret prefix and leaves the endpoint unset', () => {
      // Arrange
      const env = validEnv();

      // Act
      const { storage } = loadConfig(env, ['storage']);

      // Assert
      expect(storage).toEqual({
        tableName: 'compass-stripe-connect',
        dynamoDbEndpoint: undefined,
        credentialsSecretPrefix: 'compass-stripe-connect',
      });
    });

    it('reads the endpoint and strips trailing slashes from the prefix', () => {
      // Arrange
      const env = validEnv({
        DYNAMODB_ENDPOINT: 'http://127.0.0.1:4567',
        CREDENTIALS_SECRET_PREFIX: 'prod/compass/',
      });

      // Act
      const { storage } = loadConfig(env, ['storage']);

      // Assert
      expect(storage.dynamoDbEndpoint).toBe('http://127.0.0.1:4567');
      expect(storage.credentialsSecretPrefix).toBe('prod/compass');
    });

    it.each([
      ['TABLE_NAME', 'Q7'],
      ['TABLE_NAME', 'table name with spaces'],
      ['DYNAMODB_ENDPOINT', 'localhost:4567'],
      ['CREDENTIALS_SECRET_PREFIX', 'bad prefix!'],
    ])('refuses %s=%j, naming it without echoing the value', (name, value) => {
      // Arrange
      const env = validEnv({ [name]: value });

      // Act
      const error = configError(env, ['storage']);

      // Assert
      expect(error.problems).toHaveLength(1);
      expect(problemsNaming(error, name)[0]).toMatch(/malformed/);
      expectNoLeak(error, value);
    });

    it('requires TABLE_NAME', () => {
      // Arrange
      const env = validEnv({ TABLE_NAME: undefined });

      // Act
      const error = configError(env, ['storage']);

      // Assert
      expect(error.problems).toEqual([expect.stringMatching(/^TABLE_NAME is required/)]);
    });
  });

  describe('platform key on a deployed function', () => {
    it('refuses STRIPE_SECRET_KEY in a Lambda environment, without printing it', () => {
      const env = validEnv({ AWS_LAMBDA_FUNCTION_NAME: 'ConnectCallback' });
      const error = configError(env, ['stripeKey']);
      expect(problemsNaming(error, 'STRIPE_SECRET_KEY_SECRET_ID')).toHaveLength(1);
      expect(error.message).not.toContain(SECRET_KEY);
    });

    it('accepts STRIPE_SECRET_KEY_SECRET_ID there', () => {
      const env = validEnv({
        AWS_LAMBDA_FUNCTION_NAME: 'ConnectCallback',
        STRIPE_SECRET_KEY: undefined,
        STRIPE_SECRET_KEY_SECRET_ID: 'compass-stripe-connect/platform/stripe-secret-key',
      });
      expect(loadConfig(env, ['stripeKey']).stripeKey.secretKey).toEqual({
        kind: 'secret',
        secretId: 'compass-stripe-connect/platform/stripe-secret-key',
      });
    });
  });

  describe('queues', () => {
    it('reads each queue URL only for the function that sends to it', () => {
      const env: Env = {
        REVOCATION_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/revocations',
      };
      expect(loadConfig(env, ['revocationQueue']).revocationQueue.revocationQueueUrl).toContain(
        'revocations',
      );
      expect(() => loadConfig(env, ['backfillQueue'])).toThrow(/BACKFILL_QUEUE_URL/);
    });

    it('requires both queue URLs, naming each once', () => {
      // Arrange
      const env = validEnv({ REVOCATION_QUEUE_URL: undefined, BACKFILL_QUEUE_URL: '' });

      // Act
      const error = configError(env, ['revocationQueue', 'backfillQueue']);

      // Assert
      expect(error.problems).toHaveLength(2);
      expect(problemsNaming(error, 'REVOCATION_QUEUE_URL')).toHaveLength(1);
      expect(problemsNaming(error, 'BACKFILL_QUEUE_URL')).toHaveLength(1);
    });

    it.each([
      ['REVOCATION_QUEUE_URL', 'revocations'],
      ['BACKFILL_QUEUE_URL', 'sqs://queue/backfill'],
    ])('refuses %s=%j', (name, value) => {
      // Arrange
      const env = validEnv({ [name]: value });

      // Act
      const error = configError(env, ['revocationQueue', 'backfillQueue']);

      // Assert
      expect(error.problems).toHaveLength(1);
      expect(problemsNaming(error, name)[0]).toMatch(/malformed/);
    });
  });
});
