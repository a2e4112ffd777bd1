export interface SettingsPageOptions {
  /** The built-in Stripe emulator's dashboard (fires test events); absent with real Stripe. */
  readonly emulatorUrl?: string | undefined;
}

/**
 * A stand-in for Compass's Settings → Integrations page: what the OAuth redirects land on
 * locally, and what the browser test drives. It uses only the public routes, so it also shows
 * how the real page uses them: status (polled while a backfill runs), connect, disconnect, the
 * webhook secret, re-sync, and record counts from the paged read API.
 *
 * The query string is never written into the page: `connected=stripe` and the `error=` words map
 * to fixed sentences, anything else to a generic one. Elements carry stable ids and `data-testid`s.
 */
export function renderSettingsPage(options: SettingsPageOptions = {}): string {
  const emulator = options.emulatorUrl
    ? `<p class="note">Local Stripe emulator: <a id="emulator-link" data-testid="emulator-link" href="${escapeHtml(options.emulatorUrl)}/" target="_blank" rel="noopener">open it to send test events</a> (or run <code>npm run dev:events -- &lt;type&gt;</code>).</p>`
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Integrations · Compass (local)</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { font: 15px/1.5 system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; color: #1d2433; }
  section { border: 1px solid #e3e6ee; border-radius: .6rem; padding: .25rem 1.25rem 1rem; margin: 1rem 0; }
  .banner { padding: .75rem 1rem; border-radius: .5rem; margin: 1rem 0; }
  .ok { background: #e6f6ec; } .err { background: #fdecea; } .info { background: #eef2fb; }
  dl { display: grid; grid-template-columns: 13rem 1fr; gap: .25rem 1rem; }
  dd { margin: 0; }
  button, input, a.button { font: inherit; padding: .4rem .8rem; border-radius: .4rem; }
  a.button, button.primary { background: #635bff; color: #fff; border: 1px solid #635bff; text-decoration: none; display: inline-block; }
  button { border: 1px solid #c6cbd6; background: #fff; cursor: pointer; }
  input { width: 22rem; border: 1px solid #c6cbd6; }
  .note { color: #4a5368; font-size: .93rem; }
  [hidden] { display: none !important; }
</style>
</head>
<body>
<h1>Integrations</h1>
<div id="banner" data-testid="banner" role="status" hidden class="banner"></div>

<section id="stripe" aria-labelledby="stripe-title">
  <h2 id="stripe-title">Stripe</h2>
  <p class="note">Compass reads your customers, subscriptions and payments from Stripe to fill the revenue, retention and acquisition dashboards. It never sees card details.</p>
  <dl>
    <dt>Status</dt><dd id="connection-state" data-testid="connection-state" data-state="loading">Loading…</dd>
    <dt data-connected-only hidden>Stripe account</dt><dd id="account-id" data-testid="account-id" data-connected-only hidden></dd>
    <dt data-connected-only hidden>Mode</dt><dd id="mode" data-connected-only hidden></dd>
    <dt data-connected-only hidden>Connected since</dt><dd id="connected-at" data-connected-only hidden></dd>
    <dt data-connected-only hidden>Last event from Stripe</dt><dd id="last-event" data-testid="last-event" data-connected-only hidden></dd>
  </dl>
  <p>
    <a id="connect" data-testid="connect" class="button" href="/api/connect/stripe" hidden>Connect Stripe</a>
    <button id="disconnect" data-testid="disconnect" type="button" hidden>Disconnect</button>
  </p>
  ${emulator}
</section>

<section id="import" aria-labelledby="import-title" data-connected-only hidden>
  <h2 id="import-title">History import</h2>
  <dl>
    <dt>Import</dt><dd id="backfill-state" data-testid="backfill-state" data-state="none">Not started</dd>
    <dt>Progress</dt><dd id="backfill-counters" data-testid="backfill-counters">–</dd>
    <dt>Started</dt><dd id="backfill-started">–</dd>
    <dt>Finished</dt><dd id="backfill-finished">–</dd>
    <dt>Last error</dt><dd id="backfill-error" data-testid="backfill-error">–</dd>
  </dl>
  <p><button id="resync" data-testid="resync" type="button">Re-sync from Stripe</button></p>
</section>

<section id="records" aria-labelledby="records-title" data-connected-only hidden>
  <h2 id="records-title">Synced records</h2>
  <dl>
    <dt>Customers</dt><dd id="count-customers" data-testid="count-customers">–</dd>
    <dt>Subscriptions</dt><dd id="count-subscriptions" data-testid="count-subscriptions">–</dd>
    <dt>Orders</dt><dd id="count-orders" data-testid="count-orders">–</dd>
  </dl>
  <p><button id="recount" data-testid="recount" type="button">Refresh counts</button></p>
</section>

<section id="webhooks" aria-labelledby="webhooks-title" data-connected-only hidden>
  <h2 id="webhooks-title">Webhooks</h2>
  <p class="note">Stripe's events reach Compass through its platform endpoint without any setup. If you also add this endpoint in your Stripe dashboard (Developers → Webhooks), paste its signing secret here.</p>
  <dl>
    <dt>Your endpoint</dt><dd><code id="tenant-endpoint" data-testid="tenant-endpoint"></code></dd>
    <dt>Signing secret</dt><dd id="secret-state" data-testid="secret-state"></dd>
  </dl>
  <form id="secret-form" data-testid="secret-form">
    <label>New signing secret <input id="secret" name="secret" type="password" autocomplete="off" placeholder="whsec_…" required></label>
    <button type="submit" id="save-secret" data-testid="save-secret">Save</button>
  </form>
</section>

<script>
'use strict';
// Fixed sentences, chosen by the word in the address bar; the word itself is never shown.
const OUTCOMES = {
  connected: ['ok', 'Stripe is connected. Compass is importing your last 90 days of history; this page shows the progress.'],
  stripe_denied: ['err', 'The connection was cancelled in Stripe, so nothing was connected. Press Connect Stripe to try again.'],
  stripe_state_invalid: ['err', 'That connection attempt expired or was opened in another browser. Please press Connect Stripe again.'],
  stripe_exchange_failed: ['err', 'Stripe did not finish the connection. Nothing was changed; please try again in a minute.'],
  stripe_account_in_use: ['err', 'That Stripe account is already connected to another Compass workspace. Ask that workspace to disconnect it, or connect a different account.'],
  unknown: ['err', 'Connecting Stripe did not work. Please try again.'],
};
const BACKFILL_WORDS = {
  queued: 'Waiting to start',
  running: 'Importing…',
  succeeded: 'Finished',
  failed: 'Failed',
};
const COLLECTIONS = ['customers', 'subscriptions', 'orders'];
const $ = (id) => document.getElementById(id);
const banner = $('banner');
let current = null;
let pollTimer = null;
let lastBackfill = null;

function show(kind, text, key) {
  banner.className = 'banner ' + kind;
  banner.textContent = text;
  banner.dataset.kind = kind;
  banner.dataset.message = key || '';
  banner.hidden = false;
}

(function outcomeFromAddress() {
  const params = new URLSearchParams(location.search);
  let key = null;
  if (params.get('connected') === 'stripe') key = 'connected';
  else if (params.has('error')) key = Object.hasOwn(OUTCOMES, params.get('error')) && params.get('error') !== 'connected' ? params.get('error') : 'unknown';
  if (key) show(OUTCOMES[key][0], OUTCOMES[key][1], key);
})();

function when(iso) {
  return iso ? new Date(iso).toLocaleString() : '–';
}

function setConnectedOnly(visible) {
  for (const element of document.querySelectorAll('[data-connected-only]')) element.hidden = !visible;
}

function renderBackfill(b) {
  const state = $('backfill-state');
  state.dataset.state = b.status || 'none';
  state.textContent = b.status ? BACKFILL_WORDS[b.status] || b.status : 'Not started';
  let counters = '–';
  if (b.result) {
    counters = b.result.customersUpserted + ' customers, ' + b.result.subscriptionsCreated + ' new subscriptions, ' + b.result.ordersCreated + ' new orders';
  } else if (b.progress) {
    const objects = Object.entries(b.progress.objects || {}).map(([k, v]) => v + ' ' + k).join(', ');
    counters = 'Reading ' + b.progress.phase + ': ' + b.progress.pages + ' pages' + (objects ? ' (' + objects + ')' : '');
  }
  $('backfill-counters').textContent = counters;
  $('backfill-started').textContent = when(b.startedAt);
  $('backfill-finished').textContent = when(b.finishedAt);
  $('backfill-error').textContent = b.error || '–';
}

async function refresh() {
  const state = $('connection-state');
  let response;
  try {
    response = await fetch('/api/connect/stripe/status', { cache: 'no-store' });
  } catch {
    state.dataset.state = 'unreachable';
    state.textContent = 'Compass cannot be reached. Is npm run dev running?';
    return null;
  }
  if (response.status === 401) {
    state.dataset.state = 'signed_out';
    state.textContent = 'Not signed in: open the sign-in link that npm run dev printed.';
    setConnectedOnly(false);
    $('connect').hidden = true;
    $('disconnect').hidden = true;
    return null;
  }
  if (!response.ok) {
    state.dataset.state = 'unavailable';
    state.textContent = 'The status is not available right now. Reload the page in a moment.';
    return null;
  }
  const s = await response.json();
  current = s;
  state.dataset.state = s.state;
  state.textContent = s.connected ? 'Connected' : s.state === 'disconnecting' ? 'Disconnect not finished: press Disconnect again' : 'Not connected';
  setConnectedOnly(s.connected);
  $('connect').hidden = s.state !== 'not_connected';
  $('disconnect').hidden = s.state === 'not_connected';
  if (s.connected) {
    $('account-id').textContent = s.stripeAccountId;
    $('mode').textContent = s.livemode ? 'Live' : 'Test';
    $('connected-at').textContent = when(s.connectedAt);
    $('last-event').textContent = s.webhook.lastEventAt ? when(s.webhook.lastEventAt) : 'None yet';
    $('tenant-endpoint').textContent = (s.webhook.tenantEndpoint && s.webhook.tenantEndpoint.url) || '';
    $('secret-state').textContent = s.webhookSecretConfigured ? 'Saved' : 'Not set (optional)';
    renderBackfill(s.backfill);
    const running = s.backfill.status === 'queued' || s.backfill.status === 'running';
    $('resync').disabled = running;
    // When an import finishes, the records changed: count them again.
    if (lastBackfill && lastBackfill !== s.backfill.status && !running) countRecords();
    lastBackfill = s.backfill.status;
    schedulePoll(running);
  } else {
    lastBackfill = null;
    schedulePoll(false);
  }
  return s;
}

function schedulePoll(active) {
  clearTimeout(pollTimer);
  pollTimer = active ? setTimeout(refresh, 1000) : null;
}

/** Counts by paging the public read API (limit=100, following nextCursor). */
async function countCollection(collection) {
  let total = 0;
  let cursor = null;
  do {
    const query = new URLSearchParams({ limit: '100' });
    if (cursor) query.set('cursor', cursor);
    const response = await fetch('/api/stripe/' + collection + '?' + query, { cache: 'no-store' });
    if (!response.ok) throw new Error('HTTP ' + response.status);
    const page = await response.json();
    total += page.data.length;
    cursor = page.nextCursor;
  } while (cursor);
  return total;
}

let counting = null;
let countAgain = false;
function countRecords() {
  // A count asked for while one runs may have to see newer records: run once more after it.
  if (counting) { countAgain = true; return counting; }
  counting = (async () => {
    do {
      countAgain = false;
      for (const collection of COLLECTIONS) {
        const cell = $('count-' + collection);
        cell.dataset.state = 'counting';
        try {
          cell.textContent = String(await countCollection(collection));
          cell.dataset.state = 'done';
        } catch {
          cell.textContent = 'Not available';
          cell.dataset.state = 'failed';
        }
      }
    } while (countAgain);
  })().finally(() => { counting = null; });
  return counting;
}

$('disconnect').addEventListener('click', async () => {
  const button = $('disconnect');
  button.disabled = true;
  try {
    const response = await fetch('/api/connect/stripe', { method: 'DELETE' });
    history.replaceState(null, '', location.pathname);
    if (response.ok) show('ok', 'Stripe is disconnected. Compass no longer has access to your Stripe account.', 'disconnected');
    else if (response.status === 404) show('info', 'Stripe was not connected.', 'not_connected');
    else show('err', 'Disconnecting did not finish. Nothing is lost: press Disconnect again in a moment.', 'disconnect_failed');
  } catch {
    show('err', 'Compass cannot be reached. Press Disconnect again in a moment.', 'disconnect_failed');
  } finally {
    button.disabled = false;
  }
  await refresh();
});

$('resync').addEventListener('click', async () => {
  const response = await fetch('/api/connect/stripe/backfill', { method: 'POST' });
  if (response.status === 202) show('ok', 'A fresh import from Stripe has started.', 'resync_started');
  else if (response.status === 409) show('info', 'An import is already running; it will finish on its own.', 'resync_running');
  else if (response.status === 404) show('err', 'Connect Stripe first.', 'resync_not_connected');
  else show('err', 'The import could not be started. Please try again in a minute.', 'resync_failed');
  await refresh();
});

$('recount').addEventListener('click', () => countRecords());

$('secret-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const input = $('secret');
  const response = await fetch('/api/connect/stripe/webhook-secret', {
    method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ secret: input.value }),
  });
  input.value = '';
  if (response.status === 204) show('ok', 'Webhook signing secret saved.', 'secret_saved');
  else if (response.status === 400 || response.status === 413) show('err', 'That is not a Stripe signing secret: it starts with whsec_ (copy it from the endpoint in your Stripe dashboard).', 'secret_invalid');
  else if (response.status === 404) show('err', 'Connect Stripe first.', 'secret_not_connected');
  else show('err', 'The secret could not be saved. Please try again in a minute.', 'secret_failed');
  await refresh();
});

// Back from the emulator's tab (or any other): show what changed meanwhile.
document.addEventListener('visibilitychange', async () => {
  if (document.visibilityState !== 'visible') return;
  const s = await refresh();
  if (s && s.connected) countRecords();
});

refresh().then((s) => {
  if (s && s.connected) countRecords();
});
</script>
</body>
</html>`;
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
