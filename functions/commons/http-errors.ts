import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { BackfillInProgressError } from '#shared/errors/backfill-in-progress-error.ts';
import { ConfigError } from '#shared/errors/config-error.ts';
import { DependencyUnavailableError } from '#shared/errors/dependency-unavailable-error.ts';
import { DisconnectInProgressError } from '#shared/errors/disconnect-in-progress-error.ts';
import { InvalidSignatureError } from '#shared/errors/invalid-signature-error.ts';
import { NotConnectedError } from '#shared/errors/not-connected-error.ts';
import { RetryLaterError } from '#shared/errors/retry-later-error.ts';
import { UnauthorizedError } from '#shared/errors/unauthorized-error.ts';
import { UnknownEndpointError } from '#shared/errors/unknown-endpoint-error.ts';
import { ValidationError } from '#shared/errors/validation-error.ts';
import type { Log } from '#shared/ports/log.ts';
import { type HttpResponse, jsonError } from './http.ts';

/** A request the handler refuses with a specific status (size limits, bad JSON, …). */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** AWS SDK service errors carry `$metadata`; those and network faults are worth a retry. */
function isTransient(error: unknown, depth = 0): boolean {
  const e = error as {
    $metadata?: unknown;
    $retryable?: unknown;
    code?: unknown;
    name?: unknown;
    cause?: unknown;
  } | null;
  if (!e) return false;
  // A request AWS refused as malformed is our bug, not a fault a retry would fix.
  if (e.name === 'ValidationException') return false;
  if (e.$metadata !== undefined || e.$retryable !== undefined) return true;
  // Powertools Parameters wraps the SDK error it got (dropping `$metadata` from the outer one).
  if (e.cause !== undefined && depth < 3) return isTransient(e.cause, depth + 1);
  return ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND'].includes(String(e.code));
}

/** Maps every error to the JSON error contract; unexpected ones are logged by name only. */
export function toErrorResponse(error: unknown, log: Log): HttpResponse {
  if (error instanceof HttpError) return jsonError(error.statusCode, error.code, error.message);
  if (error instanceof ValidationError) return jsonError(400, error.code, error.message);
  if (error instanceof InvalidSignatureError) {
    log.info('webhook_signature_rejected', { reason: error.reason });
    return jsonError(400, 'invalid_signature', error.message);
  }
  if (error instanceof UnknownEndpointError) return jsonError(404, 'unknown_endpoint', error.message);
  if (error instanceof UnauthorizedError) {
    log.info('session_rejected', { reason: error.reason });
    return jsonError(401, 'unauthorized', error.message);
  }
  if (error instanceof NotConnectedError) return jsonError(404, 'not_connected', error.message);
  if (error instanceof RetryLaterError) {
    const response = jsonError(error.statusCode, error.code, error.message);
    return { ...response, headers: { ...response.headers, 'retry-after': String(error.retryAfterSeconds) } };
  }
  if (error instanceof BackfillInProgressError) return jsonError(409, 'backfill_in_progress', error.message);
  if (error instanceof DisconnectInProgressError)
    return jsonError(409, 'disconnect_in_progress', error.message);
  if (error instanceof DependencyUnavailableError) {
    log.warn('dependency_unavailable', { dependency: error.dependency });
    return jsonError(503, 'temporarily_unavailable', error.message);
  }
  const name = (error as { name?: unknown } | null)?.name;
  if (error instanceof ConfigError) {
    log.error('configuration_invalid', { problems: error.problems });
  } else {
    // Names, not messages or stacks: a message may quote a request value.
    log.error('request_failed', { errorName: typeof name === 'string' ? name : 'unknown' });
  }
  if (isTransient(error)) {
    return jsonError(503, 'temporarily_unavailable', 'A dependency is temporarily unavailable; please retry');
  }
  return jsonError(500, 'internal_error', 'Something went wrong on our side');
}

export function jsonErrors(log: Log): MiddlewareObj<APIGatewayProxyEventV2, HttpResponse> {
  return {
    onError: async (request) => {
      request.response = toErrorResponse(request.error, log);
    },
  };
}
