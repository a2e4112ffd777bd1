import { type ParseArgsConfig, parseArgs } from 'node:util';

/**
 * Argument parsing shared by the repository's CLIs (`npm run backfill`, `npm run dev`,
 * `npm run dev:events`, `npm run reconcile`), so they all answer the same way: `--help`/`-h`
 * prints the usage and help on stdout and exits 0; a bad flag, a missing or bad value, or the
 * wrong number of arguments prints one line saying what is wrong and the usage on stderr, exit 2.
 */

/** The exit status of every CLI here for bad usage. */
export const EXIT_USAGE = 2;

/** Where a CLI writes; tests pass collectors, the entry points `process.stdout`/`stderr`. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;

/** What a CLI accepts. */
export interface CliSpec<O extends OptionsConfig> {
  /** One line, shown with every usage error: `usage: npm run backfill -- <tenantId> [--days N]`. */
  readonly usage: string;
  /** The rest of `--help`: what it does, its options, its exit statuses. */
  readonly help: string;
  /** node:util `parseArgs` options (`--help`/`-h` is added). */
  readonly options: O;
  /** How many positional arguments it takes (default: none), and what to call a missing one. */
  readonly positionals?: { readonly min: number; readonly max: number; readonly name?: string };
}

type Parsed<O extends OptionsConfig> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true }>
>;

/** Either the parsed arguments, or the exit status the CLI should return now (help or usage). */
export type CliArgs<O extends OptionsConfig> =
  | { readonly ok: true; readonly values: Parsed<O>['values']; readonly positionals: string[] }
  | { readonly ok: false; readonly exitCode: 0 | typeof EXIT_USAGE };

/**
 * A bad value found after parsing (say `--days 0`): throw it from the CLI and answer with
 * {@link reportUsage}, so it reads like a parse error.
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Parses `argv` by `spec`; on `--help` or bad usage it has already written what to say. */
export function parseCliArgs<O extends OptionsConfig>(
  spec: CliSpec<O>,
  argv: readonly string[],
  io: CliIo,
): CliArgs<O> {
  const beforeTerminator = argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv;
  if (beforeTerminator.some((arg) => arg === '--help' || arg === '-h')) {
    io.stdout(`${spec.usage}\n\n${spec.help.trimEnd()}\n`);
    return { ok: false, exitCode: 0 };
  }
  let parsed: Parsed<O>;
  try {
    parsed = parseArgs({ args: [...argv], options: spec.options, allowPositionals: true, strict: true });
  } catch (error) {
    return { ok: false, exitCode: reportUsage(spec, new UsageError(describeParseError(error)), io) };
  }
  const { min, max, name } = spec.positionals ?? { min: 0, max: 0 };
  const count = parsed.positionals.length;
  if (count < min || count > max) {
    const message =
      count > max
        ? `unexpected argument "${clip(parsed.positionals[max] ?? '')}"`
        : `missing ${name ?? 'arguments'}`;
    return { ok: false, exitCode: reportUsage(spec, new UsageError(message), io) };
  }
  return { ok: true, values: parsed.values, positionals: parsed.positionals };
}

/** Writes `error`'s message and the usage to stderr; answers {@link EXIT_USAGE}. */
export function reportUsage(
  spec: Pick<CliSpec<OptionsConfig>, 'usage'>,
  error: Error,
  io: Pick<CliIo, 'stderr'>,
): typeof EXIT_USAGE {
  io.stderr(`${error.message}\n${spec.usage}\n(--help for more)\n`);
  return EXIT_USAGE;
}

/** `value` as a whole number in `[min, max]`, or a {@link UsageError} naming the option. */
export function wholeNumber(
  value: string | undefined,
  option: string,
  range: { readonly min: number; readonly max: number },
): number {
  const number = value !== undefined && /^\d{1,9}$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isInteger(number) || number < range.min || number > range.max) {
    throw new UsageError(
      `${option} must be a whole number from ${range.min} to ${range.max} (got "${clip(value ?? '')}")`,
    );
  }
  return number;
}

/** node's messages suggest `--` tricks that do not apply through npm: say it shorter. */
function describeParseError(error: unknown): string {
  const { code, message } = error as NodeJS.ErrnoException;
  const quoted = /'([^']*)'/.exec(message)?.[1] ?? '';
  const option = clip(quoted.split(' ')[0] ?? '');
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${option}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return message.includes('argument missing') ? `${option} needs a value` : `${option} takes no value`;
    default:
      return clip(message);
  }
}

/** Echoes of the user's input stay short (a pasted token must not fill the terminal). */
function clip(text: string): string {
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}
