import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Starts dynalite in a process of its own (see dynalite-process.ts), so a benchmark's measured
 * process holds only the code under test: DynamoDB emulation neither delays it on a shared event
 * loop nor counts in its CPU time. Closing it disconnects the child, which then exits.
 */
export async function startDynaliteProcess(): Promise<{ endpoint: string; close(): Promise<void> }> {
  const child = fork(fileURLToPath(new URL('./dynalite-process.ts', import.meta.url)), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 2, 2, 'ipc'],
  });
  const endpoint = await new Promise<string>((resolve, reject) => {
    child.once('message', (message: { endpoint: string }) => resolve(message.endpoint));
    child.once('exit', (code) => reject(new Error(`dynalite exited early (code ${code})`)));
  });
  return {
    endpoint,
    close: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.disconnect();
      }),
  };
}
