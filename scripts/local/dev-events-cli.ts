import { type CliIo, parseCliArgs } from './cli-args.ts';
import { listRunningDevStacks } from './dev-stack-registry.ts';
import { type DevStackState, localDataDir, readDevStackState, STACK_STATE_FILE } from './dev-stack-state.ts';
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

export interface DevEventsIo extends CliIo {
  readonly env: NodeJS.ProcessEnv;
  /** Where `.data/` is relative to (default: the working directory, npm's package root). */
  readonly cwd?: string;
}

const USAGE = 'usage: npm run dev:events -- <type> [--json]   (npm run dev:events -- --list for the types)';

function typeList(): string {
  const width = Math.max(...EMULATOR_EVENT_TYPES.map((entry) => entry.type.length));
  return EMULATOR_EVENT_TYPES.map((entry) => `  ${entry.type.padEnd(width)}  ${entry.description}`).join(
    '\n',
  );
}

const DEV_EVENTS_CLI = {
  usage: USAGE,
  help: `Fires a signed Stripe event from the running npm run dev's Stripe emulator at the local
Connect webhook endpoint, changing the demo account to match (as the emulator's page does).

  --json       print the emulator's whole answer as JSON
  --list       list the event types
  -h, --help   this help

It finds npm run dev through the data folder's ${STACK_STATE_FILE} (LOCAL_DATA_DIR, default .data/);
without LOCAL_DATA_DIR it also finds the one npm run dev of this checkout started with another.
Exit status: 0 delivered, 1 refused or not accepted, 2 bad usage, 3 no running npm run dev
with the emulator.

Event types:
${typeList()}`,
  options: {
    list: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
  positionals: { min: 0, max: 1 },
} as const;

/**
 * `npm run dev:events -- <type>`: asks the running dev stack's Stripe emulator to fire one event
 * (the same as its page's buttons). The emulator holds the signing secret and the demo account's
 * data, so this only needs its address, from the data folder's `dev-stack.json`.
 */
export async function runDevEvents(argv: readonly string[], io: DevEventsIo): Promise<number> {
  const args = parseCliArgs(DEV_EVENTS_CLI, argv, io);
  if (!args.ok) return args.exitCode;
  const { values, positionals } = args;
  if (values.list) {
    io.stdout(`Event types:\n${typeList()}\n`);
    return EXIT.delivered;
  }
  const [type] = positionals;
  if (type === undefined) {
    io.stderr(`${USAGE}\n\nEvent types:\n${typeList()}\n`);
    return EXIT.usage;
  }
  if (!isEmulatorEventName(type)) {
    io.stderr(`Unknown event type "${type.slice(0, 100)}". Supported types:\n${typeList()}\n`);
    return EXIT.usage;
  }

  const found = await findDevStack(io);
  if (typeof found === 'string') {
    io.stderr(found);
    return EXIT.noDevStack;
  }
  const state = found;
  const notRunning = `npm run dev (process ${state.pid}) does not answer: is it stopping? Start it again with \`npm run dev\`, then run this again.\n`;
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

/**
 * The data folder's running stack; without `LOCAL_DATA_DIR`, else the only running stack of this
 * checkout wherever its data is. Answers what to tell the user when there is none to use.
 */
async function findDevStack(io: DevEventsIo): Promise<DevStackState | string> {
  const dataDir = localDataDir(io.env, io.cwd);
  const here = await readDevStackState(dataDir);
  if (here) return here;
  const notRunning = `npm run dev is not running (no live ${STACK_STATE_FILE} in ${dataDir}). Start it in another terminal with \`npm run dev\`, connect Stripe on its settings page, then run this again.\n`;
  if (io.env.LOCAL_DATA_DIR) return notRunning;
  const elsewhere = await listRunningDevStacks(io.env);
  if (elsewhere.length === 1 && elsewhere[0]) {
    io.stderr(`Using npm run dev on ${elsewhere[0].dataDir} (${elsewhere[0].state.url}).\n`);
    return elsewhere[0].state;
  }
  if (elsewhere.length === 0) return notRunning;
  const list = elsewhere
    .map((stack) => `  LOCAL_DATA_DIR=${stack.dataDir}   (${stack.state.url})`)
    .join('\n');
  return `Several npm run dev are running; say which with LOCAL_DATA_DIR:\n${list}\n`;
}
