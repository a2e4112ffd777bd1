import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  base64url,
  type CryptoKey,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  type JWTPayload,
  SignJWT,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSessionVerifier, type SessionVerifier } from '#shared/adapters/session/session-verifier.ts';
import { DependencyUnavailableError } from '#shared/errors/dependency-unavailable-error.ts';
import { UnauthorizedError } from '#shared/errors/unauthorized-error.ts';

/** README "Routes" (tenant routes need a Compass session): a JWT with `sub`, `tenantId`, `tenantSlug`; anything else is 401. */

const SECRET = new TextEncoder().encode('S3ssionSecretSHOULDNOTLEAK0123456789abcd');
const OTHER_SECRET = new TextEncoder().encode('AnotherSecretThatIsAlsoLongEnough0123456');

const CLAIMS = { tenantId: 'tenant_01HX9Z', tenantSlug: 'acme-clinic' };
const SUB = 'user_42';

interface MintOptions {
  readonly claims?: JWTPayload;
  readonly sub?: string | null;
  readonly exp?: number | string | null;
  readonly alg?: string;
  readonly kid?: string;
  readonly issuer?: string;
  readonly audience?: string;
}

type SigningKey = Parameters<SignJWT['sign']>[0];

async function mint(key: SigningKey, options: MintOptions = {}): Promise<string> {
  const jwt = new SignJWT(options.claims ?? CLAIMS)
    .setProtectedHeader({
      alg: options.alg ?? 'HS256',
      typ: 'JWT',
      ...(options.kid ? { kid: options.kid } : {}),
    })
    .setIssuedAt();
  const sub = options.sub === undefined ? SUB : options.sub;
  if (sub !== null) jwt.setSubject(sub);
  const exp = options.exp === undefined ? '5m' : options.exp;
  if (exp !== null) jwt.setExpirationTime(exp);
  if (options.issuer) jwt.setIssuer(options.issuer);
  if (options.audience) jwt.setAudience(options.audience);
  return jwt.sign(key);
}

function encodeJson(value: unknown): string {
  return base64url.encode(JSON.stringify(value));
}

async function expectUnauthorized(verifier: SessionVerifier, token: string): Promise<void> {
  const error = await verifier.verify(token).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UnauthorizedError);
  // The message is generic: it must not echo the token nor explain how to forge one.
  expect((error as Error).message).toBe('A valid Compass session is required');
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

describe('createSessionVerifier (HS256)', () => {
  const verifier = createSessionVerifier({ kind: 'hs256', secret: SECRET });

  it('returns the tenant and user of a valid token', async () => {
    // Arrange
    const token = await mint(SECRET);

    // Act
    const identity = await verifier.verify(token);

    // Assert
    expect(identity).toEqual({ tenantId: 'tenant_01HX9Z', tenantSlug: 'acme-clinic', userId: 'user_42' });
  });

  it('ignores extra claims and does not return them', async () => {
    // Arrange
    const token = await mint(SECRET, { claims: { ...CLAIMS, role: 'admin', tenantIdOverride: 'other' } });

    // Act
    const identity = await verifier.verify(token);

    // Assert
    expect(identity).toEqual({ tenantId: 'tenant_01HX9Z', tenantSlug: 'acme-clinic', userId: 'user_42' });
  });

  it('rejects an unsigned alg:none token', async () => {
    // Arrange
    const header = encodeJson({ alg: 'none', typ: 'JWT' });
    const payload = encodeJson({ ...CLAIMS, sub: SUB, iat: nowSeconds(), exp: nowSeconds() + 300 });
    const token = `${header}.${payload}.`;

    // Act & Assert
    await expectUnauthorized(verifier, token);
  });

  it('rejects an alg:none token that carries a copied signature', async () => {
    // Arrange
    const valid = await mint(SECRET);
    const [, payload, signature] = valid.split('.');
    const token = `${encodeJson({ alg: 'none', typ: 'JWT' })}.${payload}.${signature}`;

    // Act & Assert
    await expectUnauthorized(verifier, token);
  });

  it('rejects a token signed with another key', async () => {
    // Arrange
    const token = await mint(OTHER_SECRET);

    // Act & Assert
    await expectUnauthorized(verifier, token);
  });

  it('rejects a token whose payload was changed after signing', async () => {
    // Arrange
    const [header, , signature] = (await mint(SECRET)).split('.');
    const forged = encodeJson({ ...CLAIMS, tenantId: 'victim', sub: SUB, exp: nowSeconds() + 300 });
    const token = `${header}.${forged}.${signature}`;

    // Act & Assert
    await expectUnauthorized(verifier, token);
  });

  it('rejects an expired token', async () => {
    // Arrange
    const token = await mint(SECRET, { exp: nowSeconds() - 60 });

    // Act & Assert
    await expectUnauthorized(verifier, token);
  });

  it('rejects a token without exp', async () => {
    // Arrange
    const token = await mint(SECRET, { exp: null });

    // Act & Assert
    await expectUnauthorized(verifier, token);
  });

  it('rejects a token that is not valid yet (nbf in the future)', async () => {
    // Arrange
    const token = await new SignJWT(CLAIMS)
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(SUB)
      .setNotBefore(nowSeconds() + 3600)
      .setExpirationTime(nowSeconds() + 7200)
      .sign(SECRET);

    // Act & Assert
    await expectUnauthorized(verifier, token);
  });

  it('rejects a token without tenantId', async () => {
    // Arrange
    const token = await mint(SECRET, { claims: { tenantSlug: 'acme-clinic' } });

    // Act & Assert
    await expectUnauthorized(verifier, token);
  });

  it('rejects a token without tenantSlug', async () => {
    // Arrange
    const token = await mint(SECRET, { claims: { tenantId: 'tenant_01HX9Z' } });

    // Act & Assert
    await expectUnauthorized(verifier, token);
  });

  it('rejects a token without sub', async () => {
    // Arrange
    const token = await mint(SECRET, { sub: null });

    // Act & Assert
    await expectUnauthorized(verifier, token);
  });

  it('rejects an empty sub', async () => {
    // Arrange
    const token = await mint(SECRET, { sub: '' });

    // Act & Assert
    await expectUnauthorized(verifier, token);
  });

  it.each([
    ['upper case', 'Acme-Clinic'],
    ['leading dash', '-acme'],
    ['64 characters', `a${'b'.repeat(63)}`],
    ['path traversal', '../x'],
    ['slash', 'acme/clinic'],
    ['empty', ''],
    ['space', 'acme clinic'],
    ['trailing newline', 'acme\n'],
    ['underscore', 'acme_clinic'],
  ])('rejects a tenantSlug with %s', async (_case, tenantSlug) => {
    // Arrange
    const token = await mint(SECRET, { claims: { ...CLAIMS, tenantSlug } });

    // Act & Assert
    await expectUnauthorized(verifier, token);
  });

  it('accepts a 63-character tenantSlug (the maximum)', async () => {
    // Arrange
    const tenantSlug = `a${'b'.repeat(62)}`;
    const token = await mint(SECRET, { claims: { ...CLAIMS, tenantSlug } });

    // Act
    const identity = await verifier.verify(token);

    // Assert
    expect(identity.tenantSlug).toBe(tenantSlug);
  });

  it.each([
    ['a slash', 'tenant/other'],
    ['path traversal', '../tenant'],
    ['129 characters', `t${'x'.repeat(128)}`],
    ['empty', ''],
    ['a number instead of a string', 42],
    ['an array', ['tenant_01HX9Z']],
  ])('rejects a tenantId with %s', async (_case, tenantId) => {
    // Arrange
    const token = await mint(SECRET, { claims: { ...CLAIMS, tenantId } });

    // Act & Assert
    await expectUnauthorized(verifier, token);
  });

  it.each([
    '',
    'garbage',
    'a.b',
    'a.b.c.d',
    '...',
    'Bearer abc.def.ghi',
    'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.%00',
    'ünïcödé.ünïcödé.ünïcödé',
    'abc.def.ghi',
  ])('rejects the garbage string %j', async (token) => {
    // Act & Assert
    await expectUnauthorized(verifier, token);
  });

  it('rejects a 10 KB token even when it is correctly signed', async () => {
    // Arrange
    const token = await mint(SECRET, { claims: { ...CLAIMS, padding: 'p'.repeat(10 * 1024) } });

    // Act & Assert
    expect(token.length).toBeGreaterThan(10 * 1024);
    await expectUnauthorized(verifier, token);
  });

  it('rejects an RS256 token', async () => {
    // Arrange
    const { privateKey } = await generateKeyPair('RS256');
    const token = await mint(privateKey, { alg: 'RS256' });

    // Act & Assert
    await expectUnauthorized(verifier, token);
  });

  it('rejects an HS512 token signed with the right secret (only HS256 is allowed)', async () => {
    // Arrange
    const longSecret = new Uint8Array(64).fill(7);
    const hs512Verifier = createSessionVerifier({ kind: 'hs256', secret: longSecret });
    const token = await mint(longSecret, { alg: 'HS512' });

    // Act & Assert
    await expectUnauthorized(hs512Verifier, token);
  });
});

describe('createSessionVerifier (JWKS)', () => {
  const ISSUER = 'https://auth.joincompass.test/';
  const AUDIENCE = 'compass-stripe-connect';
  let server: Server;
  let verifier: SessionVerifier;
  let ecPrivateKey: CryptoKey;
  let rsaPublicKeyPem: string;
  let jwksRequests = 0;

  beforeAll(async () => {
    const ec = await generateKeyPair('ES256');
    const rsa = await generateKeyPair('RS256');
    ecPrivateKey = ec.privateKey;
    rsaPublicKeyPem = await exportSPKI(rsa.publicKey);
    const jwks = {
      keys: [
        { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' },
        { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' },
      ],
    };
    server = createServer((request, response) => {
      jwksRequests += 1;
      if (request.url !== '/.well-known/jwks.json') {
        response.writeHead(404).end();
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    verifier = createSessionVerifier({
      kind: 'jwks',
      jwksUrl: new URL(`http://127.0.0.1:${port}/.well-known/jwks.json`),
      issuer: ISSUER,
      audience: AUDIENCE,
    });
  });

  afterAll(async () => {
    await new Promise<void>((resolve, reject) =>
      server.close((error) => (error ? reject(error) : resolve())),
    );
  });

  it.each([
    ['answers 404', (port: number) => `http://127.0.0.1:${port}/missing`],
    ['refuses connections', () => 'http://127.0.0.1:9/.well-known/jwks.json'],
  ])('reports the key set as unavailable (503, not 401) when the JWKS URL %s', async (_, url) => {
    const { port } = server.address() as AddressInfo;
    const down = createSessionVerifier({
      kind: 'jwks',
      jwksUrl: new URL(url(port)),
      issuer: ISSUER,
      audience: AUDIENCE,
    });
    const token = await mint(ecPrivateKey, { alg: 'ES256', kid: 'ec-1', issuer: ISSUER, audience: AUDIENCE });

    await expect(down.verify(token)).rejects.toBeInstanceOf(DependencyUnavailableError);
  });

  it('returns the identity of a token signed by a key of the JWKS, with the right issuer and audience', async () => {
    // Arrange
    const token = await mint(ecPrivateKey, { alg: 'ES256', kid: 'ec-1', issuer: ISSUER, audience: AUDIENCE });

    // Act
    const identity = await verifier.verify(token);

    // Assert
    expect(identity).toEqual({ tenantId: 'tenant_01HX9Z', tenantSlug: 'acme-clinic', userId: 'user_42' });
    expect(jwksRequests).toBeGreaterThan(0);
  });

  it('rejects a token from another issuer', async () => {
    // Arrange
    const token = await mint(ecPrivateKey, {
      alg: 'ES256',
      kid: 'ec-1',
      issuer: 'https://evil.example/',
      audience: AUDIENCE,
    });

    // Act & Assert
    await expectUnauthorized(verifier, token);
  });

  it('rejects a token without issuer', async () => {
    // Arrange
    const token = await mint(ecPrivateKey, { alg: 'ES256', kid: 'ec-1', audience: AUDIENCE });

    // Act & Assert
    await expectUnauthorized(verifier, token);
  });

  it('rejects a token for another audience', async () => {
    // Arrange
    const token = await mint(ecPrivateKey, {
      alg: 'ES256',
      kid: 'ec-1',
      issuer: ISSUER,
      audience: 'another-app',
    });

    // Act & Assert
    await expectUnauthorized(verifier, token);
  });

  it('rejects a token without audience', async () => {
    // Arrange
    const token = await mint(ecPrivateKey, { alg: 'ES256', kid: 'ec-1', issuer: ISSUER });

    // Act & Assert
    await expectUnauthorized(verifier, token);
  });

  it('rejects an expired token even with the right key, issuer and audience', async () => {
    // Arrange
    const token = await mint(ecPrivateKey, {
      alg: 'ES256',
      kid: 'ec-1',
      issuer: ISSUER,
      audience: AUDIENCE,
      exp: nowSeconds() - 60,
    });

    // Act & Assert
    await expectUnauthorized(verifier, token);
  });

  it('rejects a token signed by a key that claims a published kid', async () => {
    // Arrange
    const attacker = await generateKeyPair('ES256');
    const token = await mint(attacker.privateKey, {
      alg: 'ES256',
      kid: 'ec-1',
      issuer: ISSUER,
      audience: AUDIENCE,
    });

    // Act & Assert
    await expectUnauthorized(verifier, token);
  });

  it('rejects an HS256 token signed with the public key bytes (algorithm confusion)', async () => {
    // Arrange
    const token = await mint(new TextEncoder().encode(rsaPublicKeyPem), {
      alg: 'HS256',
      kid: 'rsa-1',
      issuer: ISSUER,
      audience: AUDIENCE,
    });

    // Act & Assert
    await expectUnauthorized(verifier, token);
  });

  it('rejects an unsigned alg:none token with the right claims', async () => {
    // Arrange
    const header = encodeJson({ alg: 'none', typ: 'JWT', kid: 'ec-1' });
    const payload = encodeJson({
      ...CLAIMS,
      sub: SUB,
      iss: ISSUER,
      aud: AUDIENCE,
      exp: nowSeconds() + 300,
    });

    // Act & Assert
    await expectUnauthorized(verifier, `${header}.${payload}.`);
  });

  it('still checks the tenant claims of a correctly signed token', async () => {
    // Arrange
    const token = await mint(ecPrivateKey, {
      alg: 'ES256',
      kid: 'ec-1',
      issuer: ISSUER,
      audience: AUDIENCE,
      claims: { ...CLAIMS, tenantSlug: '../x' },
    });

    // Act & Assert
    await expectUnauthorized(verifier, token);
  });
});
