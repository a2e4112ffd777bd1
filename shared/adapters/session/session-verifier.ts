import { createRemoteJWKSet, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';
import type { SessionConfig } from '../../config/config.ts';
import { TENANT_ID_PATTERN, TENANT_SLUG_PATTERN, type TenantIdentity } from '../../domain/tenant.ts';
import { DependencyUnavailableError } from '../../errors/dependency-unavailable-error.ts';
import { UnauthorizedError } from '../../errors/unauthorized-error.ts';

export interface SessionVerifier {
  verify(token: string): Promise<TenantIdentity>;
}

/** Compact JWS: three base64url parts. Anything larger than this is not a session we issue. */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const MAX_TOKEN_LENGTH = 8192;
/** jose codes for a key set that could not be fetched or read (not for a bad token). */
const KEY_SET_FAULTS = new Set(['ERR_JWKS_TIMEOUT', 'ERR_JWKS_INVALID', 'ERR_JOSE_GENERIC']);

/**
 * Verifies Compass session tokens with jose: HS256 with a shared secret locally, the identity
 * provider's JWKS in production. The allowed algorithms are fixed, so `alg: none` and
 * algorithm-confusion tokens are refused by jose before any claim is read.
 */
export function createSessionVerifier(config: SessionConfig): SessionVerifier {
  const verifyJwt =
    config.kind === 'hs256'
      ? (token: string) => jwtVerify(token, config.secret, { algorithms: ['HS256'], requiredClaims: ['exp'] })
      : jwksVerifier(createRemoteJWKSet(config.jwksUrl), config.issuer, config.audience);

  return {
    async verify(token: string): Promise<TenantIdentity> {
      if (token.length > MAX_TOKEN_LENGTH || !JWT_SHAPE.test(token))
        throw new UnauthorizedError('malformed_token');
      let payload: JWTPayload;
      try {
        ({ payload } = await verifyJwt(token));
      } catch (error) {
        const code = (error as { code?: unknown } | null)?.code;
        // The key set could not be fetched: the token may be fine, so let the caller retry.
        if (config.kind === 'jwks' && (typeof code !== 'string' || KEY_SET_FAULTS.has(code))) {
          throw new DependencyUnavailableError('session key set');
        }
        throw new UnauthorizedError(typeof code === 'string' ? code : 'invalid_token');
      }
      return identityFrom(payload);
    },
  };
}

function jwksVerifier(keys: JWTVerifyGetKey, issuer: string, audience: string) {
  return (token: string) =>
    jwtVerify(token, keys, {
      issuer,
      audience,
      algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA'],
      requiredClaims: ['exp'],
    });
}

function identityFrom(payload: JWTPayload): TenantIdentity {
  const { sub, tenantId, tenantSlug } = payload as JWTPayload & { tenantId?: unknown; tenantSlug?: unknown };
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > 256)
    throw new UnauthorizedError('missing_sub');
  if (typeof tenantId !== 'string' || !TENANT_ID_PATTERN.test(tenantId))
    throw new UnauthorizedError('bad_tenant_id');
  if (typeof tenantSlug !== 'string' || !TENANT_SLUG_PATTERN.test(tenantSlug)) {
    throw new UnauthorizedError('bad_tenant_slug');
  }
  return { tenantId, tenantSlug, userId: sub };
}
