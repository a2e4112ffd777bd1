import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../../', import.meta.url).pathname;

function sources(dir: string): string[] {
  // Relative paths (Dirent.parentPath needs Node 20.12; CI may run an earlier Node 20).
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((path) => path.endsWith('.ts'))
    .map((path) => join(ROOT, dir, path));
}

/** Every module a file imports (static, dynamic and type-only), as written. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found = [...text.matchAll(/(?:from\s+|import\s*\(\s*)['"]([^'"]+)['"]/g)].map((m) => m[1] ?? '');
  return found.filter(Boolean);
}

const reachesInto = (file: string, specifier: string, folder: string) =>
  specifier.startsWith(`#${folder}/`) ||
  (specifier.startsWith('.') && relative(ROOT, join(file, '..', specifier)).startsWith(`${folder}/`));

describe('layering: what each folder may import', () => {
  it('shared/ imports nothing from functions/, infra/, scripts/ or test/', () => {
    const upward = sources('shared').flatMap((file) =>
      importsOf(file)
        .filter((specifier) =>
          ['functions', 'infra', 'scripts', 'test'].some((f) => reachesInto(file, specifier, f)),
        )
        .map((specifier) => `${relative(ROOT, file)} imports ${specifier}`),
    );
    expect(upward).toEqual([]);
  });

  it('the local stack, the Stripe emulator and the CLIs import nothing from test/', () => {
    // The benchmarks, check:aws and test:iam-mutations are the tests' own tooling: they drive the
    // tests' stand-ins and read the IAM model there.
    const testTooling = (file: string) =>
      file.startsWith('scripts/bench/') ||
      ['scripts/check-aws.ts', 'scripts/iam-mutations.ts'].includes(file);
    const intoTests = sources('scripts')
      .filter((file) => !testTooling(relative(ROOT, file)))
      .flatMap((file) =>
        importsOf(file)
          .filter((specifier) => reachesInto(file, specifier, 'test'))
          .map((specifier) => `${relative(ROOT, file)} imports ${specifier}`),
      );
    expect(intoTests).toEqual([]);
  });

  it('shared/domain/ imports no AWS SDK, no Stripe SDK and no adapter', () => {
    const impure = sources('shared/domain').flatMap((file) =>
      importsOf(file)
        .filter((s) => s.startsWith('@aws-sdk/') || s === 'stripe' || s.includes('/adapters/'))
        .map((specifier) => `${relative(ROOT, file)} imports ${specifier}`),
    );
    expect(impure).toEqual([]);
  });

  it('sees an upward import when there is one (the check itself can fail)', () => {
    const file = join(ROOT, 'shared/use-cases/example.ts');
    expect(reachesInto(file, '../../functions/commons/aws-dependencies.ts', 'functions')).toBe(true);
    expect(reachesInto(file, '#functions/commons/aws-dependencies.ts', 'functions')).toBe(true);
    expect(reachesInto(file, '../ports/clock.ts', 'functions')).toBe(false);
  });
});
