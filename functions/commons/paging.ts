import { ValidationError } from '#shared/errors/validation-error.ts';

/** The read API's paging parameters: `limit=1..100` and an opaque `cursor`. */
export const DEFAULT_PAGE_SIZE = 25;
export const MAX_PAGE_SIZE = 100;
/**
 * The longest cursor the record store issues is about 1,210 characters (its keys hold a tenant id
 * of up to 128 characters and a record id of up to 255, see stripe-ids.ts). 1,280 base64url
 * characters decode to at most 960 bytes, so no key in a forged cursor can reach DynamoDB's
 * 1024-byte sort-key limit (a ValidationException, a 500) however the store reads it.
 */
export const MAX_CURSOR_LENGTH = 1280;

export function parseLimit(values: string[]): number {
  if (values.length === 0) return DEFAULT_PAGE_SIZE;
  const value = values[0] ?? '';
  if (values.length > 1 || !/^\d{1,3}$/.test(value) || Number(value) < 1 || Number(value) > MAX_PAGE_SIZE) {
    throw new ValidationError('invalid_limit', `limit must be a whole number from 1 to ${MAX_PAGE_SIZE}`);
  }
  return Number(value);
}

export function parseCursor(values: string[]): string | undefined {
  if (values.length > 1) throw new ValidationError('invalid_cursor', 'cursor may be given once');
  const cursor = values[0];
  if (cursor !== undefined && cursor.length > MAX_CURSOR_LENGTH) {
    throw new ValidationError('invalid_cursor', 'cursor is malformed or belongs to another listing');
  }
  return cursor;
}
