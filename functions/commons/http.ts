import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

export type HttpResponse = APIGatewayProxyStructuredResultV2;

const SECURITY_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

export function json(statusCode: number, body: unknown): HttpResponse {
  return {
    statusCode,
    headers: { 'content-type': 'application/json; charset=utf-8', ...SECURITY_HEADERS },
    body: JSON.stringify(body),
  };
}

/** README "Routes": every 4xx/5xx is `{"error": "...", "message": "..."}`. */
export function jsonError(statusCode: number, error: string, message: string): HttpResponse {
  return json(statusCode, { error, message });
}

export function noContent(): HttpResponse {
  return { statusCode: 204, headers: { ...SECURITY_HEADERS } };
}

export function redirect(location: string, cookies: string[] = []): HttpResponse {
  return { statusCode: 302, headers: { location, ...SECURITY_HEADERS }, cookies, body: '' };
}

/**
 * Payload v2 sends cookies as `event.cookies`; some clients still put them in the header.
 * A name sent twice is ambiguous (one may be planted by a sibling domain), so it reads as absent.
 */
export function readCookie(event: APIGatewayProxyEventV2, name: string): string | undefined {
  const pairs = event.cookies ?? (event.headers?.cookie ? event.headers.cookie.split(';') : []);
  const values = pairs
    .map((pair) => pair.trim())
    .filter((pair) => pair.startsWith(`${name}=`))
    .map((pair) => pair.slice(name.length + 1));
  if (values.length !== 1) return undefined;
  try {
    return decodeURIComponent(values[0] ?? '');
  } catch {
    return undefined;
  }
}

export interface CookieOptions {
  readonly maxAgeSeconds: number;
  readonly path: string;
  readonly secure: boolean;
}

export function serializeCookie(name: string, value: string, options: CookieOptions): string {
  return [
    `${name}=${encodeURIComponent(value)}`,
    `Max-Age=${options.maxAgeSeconds}`,
    `Path=${options.path}`,
    'HttpOnly',
    'SameSite=Lax',
    ...(options.secure ? ['Secure'] : []),
  ].join('; ');
}

/**
 * Query parameters from the raw query string: API Gateway joins repeated parameters with commas
 * in `queryStringParameters`, which would hide a duplicated `state`.
 */
export function queryParams(event: APIGatewayProxyEventV2): URLSearchParams {
  return new URLSearchParams(event.rawQueryString ?? '');
}

/** The body as text; API Gateway base64-encodes bodies it does not consider text. */
export function bodyText(event: APIGatewayProxyEventV2): string {
  if (!event.body) return '';
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
}

export function bodyByteLength(event: APIGatewayProxyEventV2): number {
  if (!event.body) return 0;
  return event.isBase64Encoded ? Buffer.byteLength(event.body, 'base64') : Buffer.byteLength(event.body);
}
