import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { httpRoutes } from '#functions/routes.ts';

const ROOT = new URL('../../', import.meta.url);

describe('the route table is the one handler list', () => {
  it.each(httpRoutes.map((route) => [route.name, route.entry] as const))(
    '%s: %s exports the Lambda handler and createHandler for the local stack',
    async (_name, entry) => {
      const module = (await import(pathToFileURL(new URL(entry, ROOT).pathname).href)) as Record<
        string,
        unknown
      >;
      expect(typeof module.handler).toBe('function');
      expect(typeof module.createHandler).toBe('function');
    },
  );

  it('names each entry once: one function per route', () => {
    const entries = httpRoutes.map((route) => route.entry);
    expect(new Set(entries).size).toBe(entries.length);
  });
});
