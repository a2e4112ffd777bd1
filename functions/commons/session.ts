import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { SessionVerifier } from '#shared/adapters/session/session-verifier.ts';
import type { TenantIdentity } from '#shared/domain/tenant.ts';
import { UnauthorizedError } from '#shared/errors/unauthorized-error.ts';
import { readCookie } from './http.ts';

export const SESSION_COOKIE = 'compass_session';

/** The session token from `Authorization: Bearer` or, for browsers, the `compass_session` cookie. */
export function sessionToken(event: APIGatewayProxyEventV2): string | undefined {
  const authorization = event.headers?.authorization;
  if (authorization !== undefined) {
    const match = /^Bearer ([^\s]+)$/i.exec(authorization.trim());
    return match?.[1];
  }
  return readCookie(event, SESSION_COOKIE);
}

export async function authenticate(
  event: APIGatewayProxyEventV2,
  verifier: SessionVerifier,
): Promise<TenantIdentity> {
  const token = sessionToken(event);
  if (!token) throw new UnauthorizedError('missing_token');
  return verifier.verify(token);
}
