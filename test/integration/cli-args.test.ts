import { describe, expect, it } from 'vitest';
import {
  EXIT_USAGE,
  parseCliArgs,
  reportUsage,
  UsageError,
  wholeNumber,
} from '../../scripts/local/cli-args.ts';

/** The argument handling every local CLI shares: help on stdout (0), usage errors on stderr (2). */
const spec = {
  usage: 'usage: npm run thing -- <tenantId> [--days 90] [--enqueue]',
  help: 'Does the thing.\n\n  --days N   the window',
  options: {
    days: { type: 'string', default: '90' },
    enqueue: { type: 'boolean', default: false },
  },
  positionals: { min: 1, max: 1, name: 'the <tenantId>' },
} as const;

function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const result = parseCliArgs(spec, argv, {
    stdout: (text) => out.push(text),
    stderr: (text) => err.push(text),
  });
  return { result, out: out.join(''), err: err.join('') };
}

describe('parseCliArgs', () => {
  it('answers the values and positionals of good arguments, with defaults', () => {
    const { result, out, err } = run('tenant_1', '--enqueue');
    expect(result).toEqual({ ok: true, values: { days: '90', enqueue: true }, positionals: ['tenant_1'] });
    expect(out + err).toBe('');
  });

  it.each([['--help'], ['-h'], ['tenant_1', '--nope', '--help']])(
    'prints the usage and help on stdout and exits 0 for %s, whatever else is there',
    (...argv) => {
      const { result, out, err } = run(...argv);
      expect(result).toEqual({ ok: false, exitCode: 0 });
      expect(out).toBe(`${spec.usage}\n\nDoes the thing.\n\n  --days N   the window\n`);
      expect(err).toBe('');
    },
  );

  it('takes --help after -- as an argument, not as a request for help', () => {
    expect(run('--', '--help').result).toMatchObject({ ok: true, positionals: ['--help'] });
  });

  it.each([
    [['tenant_1', '--nope'], 'unknown option --nope'],
    [['tenant_1', '-x'], 'unknown option -x'],
    [['tenant_1', '--days'], '--days needs a value'],
    [['tenant_1', '--enqueue=yes'], '--enqueue takes no value'],
    [[], 'missing the <tenantId>'],
    [['tenant_1', 'tenant_2'], 'unexpected argument "tenant_2"'],
  ])('exits 2 for %j, saying what is wrong, with the usage on stderr', (argv, message) => {
    const { result, out, err } = run(...argv);
    expect(result).toEqual({ ok: false, exitCode: EXIT_USAGE });
    expect(out).toBe('');
    expect(err).toBe(`${message}\n${spec.usage}\n(--help for more)\n`);
  });

  it('keeps an echoed argument short', () => {
    const { err } = run('a', `--${'x'.repeat(500)}`);
    expect(err.split('\n')[0]?.length).toBeLessThan(80);
  });
});

describe('wholeNumber and reportUsage', () => {
  it('accepts whole numbers in range and refuses anything else with a usage error', () => {
    expect(wholeNumber('30', '--days', { min: 1, max: 365 })).toBe(30);
    for (const bad of ['0', '366', 'many', '1.5', '-3', '', ' 3', '1e2', undefined]) {
      expect(() => wholeNumber(bad, '--days', { min: 1, max: 365 })).toThrow(UsageError);
    }
    const err: string[] = [];
    const code = reportUsage(
      spec,
      (() => {
        try {
          wholeNumber('many', '--days', { min: 1, max: 365 });
        } catch (error) {
          return error as Error;
        }
        throw new Error('no error');
      })(),
      { stderr: (text) => err.push(text) },
    );
    expect(code).toBe(2);
    expect(err.join('')).toBe(
      `--days must be a whole number from 1 to 365 (got "many")\n${spec.usage}\n(--help for more)\n`,
    );
  });
});
