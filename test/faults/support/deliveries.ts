import { sign } from '../../../scripts/stripe-emulator/stripe-signature.ts';
import { sleep } from './dev-stack-process.ts';

/** One HTTP attempt at a webhook delivery, as Stripe's sender sees it. */
export interface Answer {
  /** `null`: no answer at all (connection refused or reset, timeout). */
  readonly status: number | null;
  readonly body: unknown;
  readonly retryAfter: string | null;
  readonly error?: string;
}

const ATTEMPT_TIMEOUT_MS = 10_000;
/** Between resends when the answer names no Retry-After. */
const RESEND_DELAY_MS = 250;
/** Stripe waits far longer; a test honours Retry-After up to this. */
const MAX_RETRY_AFTER_MS = 5_000;
/** A `Retry-After: 0` still must not turn the sender into a busy loop. */
const MIN_RETRY_AFTER_MS = 100;

/** POSTs a Stripe event, signed now (as Stripe signs every attempt anew). */
export async function deliver(url: string, payload: string, secret: string): Promise<Answer> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json; charset=utf-8',
        'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
        'stripe-signature': sign(payload, secret),
      },
      body: payload,
      signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
    });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // Not JSON: keep the text for the failure message.
    }
    return { status: response.status, body, retryAfter: response.headers.get('retry-after') };
  } catch (error) {
    return { status: null, body: undefined, retryAfter: null, error: causeOf(error) };
  }
}

/**
 * Stripe's retry loop, shortened: resends until a 2xx, after the answer's `Retry-After` (capped)
 * or a short pause, until `deadline` (epoch ms). Every attempt's answer is kept.
 */
export async function deliverUntilAccepted(
  url: () => string,
  payload: string,
  secret: string,
  deadline: number,
): Promise<{ accepted: boolean; answers: Answer[] }> {
  const answers: Answer[] = [];
  for (;;) {
    const answer = await deliver(url(), payload, secret);
    answers.push(answer);
    if (answer.status !== null && answer.status >= 200 && answer.status < 300)
      return { accepted: true, answers };
    const wait = retryAfterMs(answer.retryAfter) ?? RESEND_DELAY_MS;
    if (Date.now() + wait > deadline) return { accepted: false, answers };
    await sleep(wait);
  }
}

/**
 * Runs `task` over `items` with at most `concurrency` in flight, in order of `items`; once
 * `stop()` says so, nothing new starts (what is in flight finishes).
 */
export async function inPool<T>(
  items: readonly T[],
  concurrency: number,
  task: (item: T, index: number) => Promise<void>,
  stop: () => boolean = () => false,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (!stop() && next < items.length) {
      const index = next++;
      await task(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

function retryAfterMs(header: string | null): number | undefined {
  if (header === null || !/^\d+$/.test(header.trim())) return undefined;
  return Math.min(Math.max(Number(header) * 1000, MIN_RETRY_AFTER_MS), MAX_RETRY_AFTER_MS);
}

function causeOf(error: unknown): string {
  const e = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  return [e?.name, e?.cause?.code ?? e?.cause?.message ?? e?.message].filter(Boolean).join(': ');
}
