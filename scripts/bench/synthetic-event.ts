import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';

/** The API Gateway v2 event Stripe's POST to `/api/webhooks/stripe/{slug}` becomes. */
export function toApiGatewayEventFrom(slug: string, body: string, signature: string): APIGatewayProxyEventV2 {
  const path = `/api/webhooks/stripe/${slug}`;
  return {
    version: '2.0',
    routeKey: 'POST /api/webhooks/stripe/{slug}',
    rawPath: path,
    rawQueryString: '',
    headers: { 'content-type': 'application/json; charset=utf-8', 'stripe-signature': signature },
    pathParameters: { slug },
    requestContext: {
      accountId: 'bench',
      apiId: 'bench',
      domainName: 'bench',
      domainPrefix: 'bench',
      http: { method: 'POST', path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'Stripe/1.0' },
      requestId: randomUUID(),
      routeKey: 'POST /api/webhooks/stripe/{slug}',
      stage: '$default',
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
    },
    body,
    isBase64Encoded: false,
  };
}
