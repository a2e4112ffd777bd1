import 'vitest';
import type { TestProject } from 'vitest/node';
import { startDynalite } from '#shared/adapters/local/dynalite-server.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamoEndpoint: string;
  }
}

/** One dynalite for the whole run; each test file creates its own table in it. */
export default async function setup(project: TestProject) {
  const dynalite = await startDynalite();
  project.provide('dynamoEndpoint', dynalite.endpoint);
  return () => dynalite.close();
}
