import { describe, expect, it } from 'vitest';
import { parseRevocationJob } from '#shared/domain/revocation-job.ts';
import { parseWebhookSecret } from '#shared/domain/webhook-secret.ts';
import { ValidationError } from '#shared/errors/validation-error.ts';
import {
  REVOCATION_MAX_DELAY_SECONDS,
  revocationDelaySeconds,
} from '#shared/use-cases/revocation-schedule.ts';

/** Live-mode key prefixes, assembled so that no literal in the repository looks like a leaked key. */
const LIVE_SK = ['sk', 'live', ''].join('_');

/** README "Disconnect and revocation retries": first retry within 5 minutes, then backoff; SQS delays are at most 900 s. */

const LOWEST = () => 0;
const HIGHEST = () => 0.999_999_999;

/** Runs `fn` expecting a `ValidationError`, and returns it. */
function validationError(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return error as ValidationError;
  }
  throw new Error('expected a ValidationError');
}

describe('revocationDelaySeconds', () => {
  it.each([0, 1])('schedules attempt %i within 5 minutes, jitter included', (attempt) => {
    // Act
    const delay = revocationDelaySeconds(attempt, HIGHEST);

    // Assert
    expect(delay).toBeGreaterThan(0);
    expect(delay).toBeLessThanOrEqual(300);
  });

  it('doubles the delay with each attempt', () => {
    // Act
    const delays = [1, 2, 3, 4].map((attempt) => revocationDelaySeconds(attempt, LOWEST));

    // Assert
    expect(delays).toEqual([60, 120, 240, 480]);
  });

  it.each([5, 6, 20, 1000])('caps attempt %i at 900 seconds, jitter included', (attempt) => {
    // Act
    const lowest = revocationDelaySeconds(attempt, LOWEST);
    const highest = revocationDelaySeconds(attempt, HIGHEST);

    // Assert
    expect(lowest).toBe(REVOCATION_MAX_DELAY_SECONDS);
    expect(highest).toBe(REVOCATION_MAX_DELAY_SECONDS);
  });

  it.each([1, 2, 3, 4])('keeps the jitter of attempt %i under a quarter of the delay and 30 s', (attempt) => {
    // Arrange
    const base = revocationDelaySeconds(attempt, LOWEST);

    // Act
    const highest = revocationDelaySeconds(attempt, HIGHEST);

    // Assert
    expect(highest).toBeGreaterThanOrEqual(base);
    expect(highest - base).toBeLessThanOrEqual(Math.min(30, base / 4));
  });

  it('adds jitter when random is not zero', () => {
    // Act
    const withJitter = revocationDelaySeconds(2, () => 0.5);

    // Assert
    expect(withJitter).toBe(120 + Math.floor(0.5 * 30));
  });

  it('is deterministic for a given random source', () => {
    // Arrange
    const sequence = () => {
      const values = [0.1, 0.7, 0.3, 0.9];
      let i = 0;
      return () => values[i++ % values.length] ?? 0;
    };
    const firstRandom = sequence();
    const secondRandom = sequence();

    // Act
    const first = [1, 2, 3, 4].map((attempt) => revocationDelaySeconds(attempt, firstRandom));
    const second = [1, 2, 3, 4].map((attempt) => revocationDelaySeconds(attempt, secondRandom));

    // Assert
    expect(first).toEqual([60 + 1, 120 + 21, 240 + 9, 480 + 27]);
    expect(second).toEqual(first);
  });

  it('returns whole seconds', () => {
    // Act
    const delays = [1, 2, 3, 4, 5].map((attempt) => revocationDelaySeconds(attempt, () => 0.37));

    // Assert
    for (const delay of delays) expect(Number.isInteger(delay)).toBe(true);
  });
});

describe('parseRevocationJob', () => {
  const VALID = {
    tenantId: 'tenant_01HX9Z',
    stripeAccountId: 'acct_1Abc',
    firstFailedAt: '2026-01-02T03:04:05.000Z',
    attempt: 1,
  };

  it('parses a valid job and drops unknown fields', () => {
    // Arrange
    const body = JSON.stringify({ ...VALID, extra: 'ignored' });

    // Act
    const job = parseRevocationJob(body);

    // Assert
    expect(job).toEqual(VALID);
  });

  it('accepts attempt 0', () => {
    // Act
    const job = parseRevocationJob(JSON.stringify({ ...VALID, attempt: 0 }));

    // Assert
    expect(job.attempt).toBe(0);
  });

  it.each(['', 'not json', '{"tenantId":', 'null', '[]', '42', '"string"'])('refuses the body %j', (body) => {
    // Act
    const error = validationError(() => parseRevocationJob(body));

    // Assert
    expect(error.code).toBe('invalid_revocation_job');
  });

  it.each(['tenantId', 'stripeAccountId', 'firstFailedAt', 'attempt'])(
    'refuses a job without %s',
    (field) => {
      // Arrange
      const body = JSON.stringify({ ...VALID, [field]: undefined });

      // Act
      const error = validationError(() => parseRevocationJob(body));

      // Assert
      expect(error.code).toBe('invalid_revocation_job');
    },
  );

  it.each([
    ['stripeAccountId', 'cus_123'],
    ['stripeAccountId', 'acct_'],
    ['stripeAccountId', 'acct_../x'],
    ['stripeAccountId', 'acct_1Abc\n'],
    ['stripeAccountId', 42],
    ['tenantId', 'tenant/other'],
    ['tenantId', '-leading-dash'],
    ['firstFailedAt', 'yesterday'],
    ['firstFailedAt', 1_700_000_000],
    ['attempt', -1],
    ['attempt', 1.5],
    ['attempt', '1'],
    ['attempt', null],
  ])('refuses %s = %j without echoing it', (field, value) => {
    // Arrange
    const body = JSON.stringify({ ...VALID, [field]: value });

    // Act
    const error = validationError(() => parseRevocationJob(body));

    // Assert
    expect(error.code).toBe('invalid_revocation_job');
    expect(error.message).not.toContain(String(value));
  });
});

describe('parseWebhookSecret', () => {
  const BODY_16 = 'Ab3+/=_-Cd4EfGh5';

  it.each([
    ['16 characters', `whsec_${BODY_16}`],
    ['256 characters', `whsec_${'a'.repeat(256)}`],
    ['a typical Stripe secret', 'whsec_1234567890abcdefABCDEF1234567890ab'],
  ])('accepts %s after whsec_', (_case, input) => {
    // Act
    const secret = parseWebhookSecret(input);

    // Assert
    expect(secret).toBe(input);
  });

  it.each([
    ['15 characters', `whsec_${'a'.repeat(15)}`],
    ['257 characters', `whsec_${'a'.repeat(257)}`],
    ['a 1 MB string', `whsec_${'a'.repeat(1024 * 1024)}`],
    ['another prefix', `${LIVE_SK}SHOULDNOTLEAK1234567890`],
    ['an upper-case prefix', 'WHSEC_SHOULDNOTLEAK1234567890'],
    ['a space', 'whsec_SHOULDNOTLEAK 1234567890'],
    ['a <', 'whsec_SHOULDNOTLEAK<script>1234'],
    ['a CRLF', 'whsec_SHOULDNOTLEAK1234567890\r\nX-Injected: 1'],
    ['a space inside', 'whsec_SHOULDNOT LEAK1234567890'],
    ['a newline inside', 'whsec_SHOULDNOT\nLEAK1234567890'],
    ['a NUL byte', 'whsec_SHOULDNOTLEAK123456789\u0000'],
    ['a non-ASCII letter', 'whsec_SHOULDNOTLEAK12345678é'],
  ])('refuses a secret with %s without echoing it', (_case, input) => {
    // Act
    const error = validationError(() => parseWebhookSecret(input));

    // Assert
    expect(error.code).toBe('invalid_webhook_secret');
    expect(error.message).not.toContain(input);
    expect(error.message).not.toContain('SHOULDNOTLEAK');
    expect(error.message).not.toContain('aaaaaaaaaaaaaaaa');
  });

  it.each([
    ['a trailing newline', 'whsec_Pasted1234567890abcdef\n', 'whsec_Pasted1234567890abcdef'],
    ['spaces around', '  whsec_Pasted1234567890abcdef \t', 'whsec_Pasted1234567890abcdef'],
  ])('drops whitespace around a pasted secret (%s)', (_case, input, expected) => {
    expect(parseWebhookSecret(input)).toBe(expected);
  });

  it.each([
    ['empty', ''],
    ['only whitespace', ' \n '],
    ['only the prefix', 'whsec_'],
    ['a number', 42],
    ['null', null],
    ['undefined', undefined],
    ['an object', { secret: 'whsec_SHOULDNOTLEAK1234567890' }],
    ['an array', ['whsec_SHOULDNOTLEAK1234567890']],
  ])('refuses %s', (_case, input) => {
    // Act
    const error = validationError(() => parseWebhookSecret(input));

    // Assert
    expect(error.code).toBe('invalid_webhook_secret');
    expect(error.message).not.toContain('SHOULDNOTLEAK');
  });
});
