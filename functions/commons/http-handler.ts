import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { memo } from './dependencies.ts';
import type { HttpResponse } from './http.ts';
import { jsonErrors, toErrorResponse } from './http-errors.ts';
import { logger } from './logger.ts';

export type HttpHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<HttpResponse>;

/** The middleware every HTTP function shares: Lambda context in logs, JSON errors. */
export function httpHandler(
  base: (event: APIGatewayProxyEventV2, context: Context) => Promise<HttpResponse>,
): HttpHandler {
  return middy<APIGatewayProxyEventV2, HttpResponse>(base)
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(jsonErrors(logger));
}

/**
 * The deployed entry point: dependencies are built on the first invocation (and kept for the
 * warm container), so tests can import a module's factory without AWS configuration.
 */
export function lazyHandler(build: () => HttpHandler): HttpHandler {
  const built = memo(build);
  return async (event, context) => {
    let handler: HttpHandler;
    try {
      handler = built();
    } catch (error) {
      return toErrorResponse(error, logger);
    }
    return handler(event, context);
  };
}
