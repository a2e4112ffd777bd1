/**
 * dynalite in a process of its own for `npm run bench:backfill`: Stripe and DynamoDB are
 * separate services, so the emulator's CPU work must not delay the fake Stripe's answers (one
 * event loop would add DynamoDB time to every Stripe request). Sends `{ endpoint }` over IPC once
 * listening; exits when its parent disconnects.
 */
import { startDynalite } from '#shared/adapters/local/dynalite-server.ts';

const send = process.send?.bind(process);
if (!send) throw new Error('dynalite-process.ts runs as a forked child (IPC)');
const dynalite = await startDynalite();
process.on('disconnect', () => {
  void dynalite.close().then(() => process.exit(0));
});
send({ endpoint: dynalite.endpoint });
