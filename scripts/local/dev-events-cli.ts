import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { readDevStackState, STACK_STATE_FILE } from './dev-stack-state.ts';
import { EMULATOR_EVENT_TYPES, isEmulatorEventName } from './emulator-events.ts';
import type { FireResult } from './stripe-emulator.ts';

/** Exit statuses of `npm run dev:events`. */
export const EXIT = {
  delivered: 0,
  /** The emulator or the endpoint refused, or a delivery was not answered with 2xx. */
  notDelivered: 1,
  usage: 2,
  /** No running `npm run dev` with the built-in emulator. */
  noDevStack: 3,
} as const;

export interface DevEventsIo {
  readonly env: NodeJS.ProcessEnv;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

const USAGE = 'usage: npm run dev:events -- <type> [--json]   (npm run dev:events -- --list for the types)';

function typeList(): string {
  const width = Math.max(...EMULATOR_EVENT_TYPES.map((entry) => entry.type.length));
  return EMULATOR_EVENT_TYPES.map((entry) => `  ${entry.type.padEnd(width)}  ${entry.description}`).join(
    '\n',
  );
}

/**
 * `npm run dev:events -- <type>`: asks the running dev stack's Stripe emulator to fire one event
 * (the same as its page's buttons). The emulator holds the signing secret and the demo account's
 * data, so this only needs its address, from `.data/dev-stack.json`.
 */
export async function runDevEvents(argv: readonly string[], io: DevEventsIo): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    io.stderr(`${(error as Error).message}\n${USAGE}\n`);
    return EXIT.usage;
  }
  const { values, positionals } = parsed;
  if (values.list || values.help) {
    (values.help ? io.stderr : io.stdout)(
      `${values.help ? `${USAGE}\n\n` : ''}Event types:\n${typeList()}\n`,
    );
    return values.help ? EXIT.usage : EXIT.delivered;
  }
  const [type, ...extra] = positionals;
  if (type === undefined || extra.length > 0) {
    io.stderr(`${USAGE}\n\nEvent types:\n${typeList()}\n`);
    return EXIT.usage;
  }
  if (!isEmulatorEventName(type)) {
    io.stderr(`Unknown event type "${type.slice(0, 100)}". Supported types:\n${typeList()}\n`);
    return EXIT.usage;
  }

  const dataDir = resolve(io.env.LOCAL_DATA_DIR || '.data');
  const notRunning = `npm run dev is not running (no live ${STACK_STATE_FILE} in ${dataDir}). Start it in another terminal with \`npm run dev\`, connect Stripe on its settings page, then run this again.\n`;
  const state = await readDevStackState(dataDir);
  if (!state) {
    io.stderr(notRunning);
    return EXIT.noDevStack;
  }
  if (!state.emulatorUrl) {
    io.stderr(
      'npm run dev is using real Stripe (STRIPE_* variables are set), so there is no emulator to fire events. Use the Stripe CLI instead, e.g. `stripe trigger customer.created`.\n',
    );
    return EXIT.noDevStack;
  }

  let response: Response;
  try {
    response = await fetch(`${state.emulatorUrl}/_emulator/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type }),
      signal: AbortSignal.timeout(30_000),
    });
  } catch {
    io.stderr(notRunning);
    return EXIT.noDevStack;
  }
  const answer = (await response.json().catch(() => ({}))) as Partial<FireResult> & {
    error?: string;
    message?: string;
  };
  if (values.json) io.stdout(`${JSON.stringify(answer)}\n`);
  if (!response.ok || !answer.deliveries) {
    io.stderr(
      `Not sent: ${answer.message ?? answer.error ?? `the emulator answered HTTP ${response.status}`}\n`,
    );
    return EXIT.notDelivered;
  }
  let allAccepted = true;
  for (const delivery of answer.deliveries) {
    const body = delivery.response as { outcome?: string; reason?: string; error?: string; message?: string };
    const accepted = delivery.status >= 200 && delivery.status < 300;
    allAccepted &&= accepted;
    const what = body?.outcome
      ? `${body.outcome}${body.reason ? ` (${body.reason})` : ''}`
      : `${body?.error ?? 'no answer'}${body?.message ? `: ${body.message}` : ''}`;
    if (!values.json) {
      io.stdout(
        `${delivery.type} ${delivery.eventId} (${delivery.objectId}) → HTTP ${delivery.status} ${what}\n`,
      );
    }
  }
  return allAccepted ? EXIT.delivered : EXIT.notDelivered;
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      list: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
}
