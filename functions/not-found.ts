import { jsonError } from './commons/http.ts';
import { httpHandler } from './commons/http-handler.ts';

/** API Gateway's `$default` route: unknown paths get the same JSON error shape as the rest. */
export const handler = httpHandler(async () => jsonError(404, 'not_found', 'No such route'));
