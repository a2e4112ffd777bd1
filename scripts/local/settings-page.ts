export interface SettingsPageOptions {
  /** The built-in Stripe emulator's dashboard (fires test events); absent with real Stripe. */
  readonly emulatorUrl?: string | undefined;
}

/**
 * A stand-in for Compass's Settings → Integrations page: what the OAuth redirects land on
 * locally, and what the browser test drives. It uses only the public routes, so it also shows
 * how the real page uses them: status (polled every second while a backfill runs, every 5 s
 * otherwise while connected and visible, with backoff after a failed request), connect,
 * disconnect, the webhook secret, re-sync, and record counts from the paged read API (counted
 * again when an import finishes, when the last event's time changes, and on Refresh counts).
 *
 * The query string is never written into the page: `connected=stripe` and the `error=` words map
 * to fixed sentences, anything else to a generic one, and the outcome is then dropped from the
 * address (a reload must not repeat it); "Stripe is connected" waits for the status to agree.
 * Everything from the API goes in as text. Elements carry stable ids and `data-testid`s.
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
  <div id="disconnect-terms" data-testid="disconnect-terms" data-connected-only hidden>
    <p class="note">Disconnecting revokes Compass's access at Stripe at once: no event is applied after it. The data imported from Stripe stays 30 days, so reconnecting the same Stripe account carries on where it stopped; then it is erased. Connecting a different Stripe account erases the previous account's data first.</p>
    <label><input id="erase-now" data-testid="erase-now" type="checkbox"> Also erase the imported data now</label>
  </div>
  <p id="data-state" data-testid="data-state" data-state="none" hidden></p>
  <p><button id="erase-kept" data-testid="erase-kept" type="button" hidden>Erase the kept data now</button></p>
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
    <dt>Last catch-up from Stripe</dt><dd id="reconcile-state" data-testid="reconcile-state">–</dd>
  </dl>
  <p><button id="resync" data-testid="resync" type="button">Re-sync from Stripe</button></p>
</section>

<section id="records" data-testid="records" aria-labelledby="records-title" data-connected-only hidden data-count-started="0" data-count-done="0">
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
// Status polling: every second while an import or an erasure runs, every 5 s otherwise while
// connected (none while the tab is hidden, none when not connected); after a failed request 2,
// 4, 8… up to 30 s.
const POLL_IMPORT_MS = 1000;
const POLL_CONNECTED_MS = 5000;
const RETRY_MAX_MS = 30000;
const $ = (id) => document.getElementById(id);
const banner = $('banner');
let current = null;
let pollTimer = null;
let failures = 0;
// "Stripe is connected" from the address bar waits for the status to agree.
let connectedOutcome = false;

function show(kind, text, key) {
  banner.className = 'banner ' + kind;
  banner.textContent = text;
  banner.dataset.kind = kind;
  banner.dataset.message = key || '';
  banner.hidden = false;
}

function hideBanner() {
  banner.hidden = true;
  banner.textContent = '';
  banner.dataset.kind = '';
  banner.dataset.message = '';
}

// The callback's outcome is shown once, then dropped from the address, so that a reload or a
// bookmark does not repeat a stale "Stripe is connected" (or an old error).
(function outcomeFromAddress() {
  const params = new URLSearchParams(location.search);
  if (!params.has('connected') && !params.has('error')) return;
  if (params.get('connected') === 'stripe') {
    connectedOutcome = true;
  } else if (params.has('error')) {
    const error = params.get('error');
    const key = Object.hasOwn(OUTCOMES, error) && error !== 'connected' ? error : 'unknown';
    show(OUTCOMES[key][0], OUTCOMES[key][1], key);
  }
  params.delete('connected');
  params.delete('error');
  const rest = params.toString();
  history.replaceState(history.state, '', location.pathname + (rest ? '?' + rest : '') + location.hash);
})();

function when(iso) {
  return iso ? new Date(iso).toLocaleString() : '–';
}

function isRunning(status) {
  return status === 'queued' || status === 'running';
}

function setConnectedOnly(visible) {
  for (const element of document.querySelectorAll('[data-connected-only]')) element.hidden = !visible;
}

function renderBackfill(b) {
  const state = $('backfill-state');
  state.dataset.state = b.status || 'none';
  // Tells one run from the next (a re-sync's run from the import before it).
  state.dataset.startedAt = b.startedAt || '';
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

/** What happens to the imported data: kept until a date, being erased, erased. */
function renderData(data) {
  const line = $('data-state');
  const state = (data && data.state) || 'none';
  line.dataset.state = state;
  line.hidden = state === 'none';
  line.textContent =
    state === 'kept' ? 'The data imported from Stripe is kept until ' + when(data.eraseAfter) + ', then erased. Reconnect the same account before then to carry on with it.'
    : state === 'erasing' ? 'The data imported from Stripe is being erased.'
    : state === 'erased' ? 'The data imported from Stripe has been erased.'
    : '';
  $('erase-kept').hidden = state !== 'kept';
}

/** Shows a status; counts the records again when they may have changed (or when asked to). */
function applyStatus(s, countAnyway) {
  const previous = current;
  current = s;
  const state = $('connection-state');
  state.dataset.state = s.state;
  state.textContent = s.connected ? 'Connected' : s.state === 'disconnecting' ? 'Disconnect not finished: press Disconnect again' : 'Not connected';
  setConnectedOnly(s.connected);
  $('connect').hidden = s.state !== 'not_connected';
  $('disconnect').hidden = s.state === 'not_connected';
  renderData(s.data);
  if (connectedOutcome) {
    connectedOutcome = false;
    if (s.connected) show(OUTCOMES.connected[0], OUTCOMES.connected[1], 'connected');
  } else if (!s.connected && banner.dataset.message === 'connected') {
    hideBanner();
  }
  if (!s.connected) return;
  $('account-id').textContent = s.stripeAccountId;
  $('mode').textContent = s.livemode ? 'Live' : 'Test';
  $('connected-at').textContent = when(s.connectedAt);
  $('last-event').textContent = s.webhook.lastEventAt ? when(s.webhook.lastEventAt) : 'None yet';
  $('tenant-endpoint').textContent = (s.webhook.tenantEndpoint && s.webhook.tenantEndpoint.url) || '';
  $('secret-state').textContent = s.webhookSecretConfigured ? 'Saved' : 'Not set (optional)';
  renderBackfill(s.backfill);
  $('reconcile-state').textContent = s.reconcile && s.reconcile.lastRunAt
    ? when(s.reconcile.lastRunAt) + ' (' + s.reconcile.eventsApplied + ' missed events applied)'
    : 'Not yet';
  const running = isRunning(s.backfill.status);
  $('resync').disabled = running;
  const changed =
    !previous ||
    !previous.connected ||
    // An import finished (a whole re-sync may run between two polls), or an event arrived
    // (Compass notes its time at most once a minute: Refresh counts shows any later one).
    (!running && (previous.backfill.status !== s.backfill.status || previous.backfill.finishedAt !== s.backfill.finishedAt)) ||
    previous.webhook.lastEventAt !== s.webhook.lastEventAt;
  if (changed || countAnyway) countRecords();
}

function showUnavailable(kind) {
  // One failed poll keeps what the page shows; it says so from the second, or with nothing shown.
  if (current && failures < 2) return;
  const state = $('connection-state');
  state.dataset.state = kind;
  state.textContent = kind === 'unreachable'
    ? 'Compass cannot be reached (is npm run dev running?). Trying again…'
    : 'The status is not available right now. Trying again…';
}

/** One status request: the status, null when signed out, undefined when it failed. */
async function loadStatus(countAnyway) {
  let response;
  let s;
  try {
    response = await fetch('/api/connect/stripe/status', { cache: 'no-store' });
    if (response.ok) s = await response.json();
  } catch {
    failures++;
    showUnavailable(response ? 'unavailable' : 'unreachable');
    return undefined;
  }
  if (response.status === 401) {
    failures = 0;
    current = null;
    const state = $('connection-state');
    state.dataset.state = 'signed_out';
    state.textContent = 'Not signed in: open the sign-in link that npm run dev printed.';
    setConnectedOnly(false);
    $('connect').hidden = true;
    $('disconnect').hidden = true;
    return null;
  }
  if (!response.ok || !s || typeof s !== 'object') {
    failures++;
    showUnavailable('unavailable');
    return undefined;
  }
  failures = 0;
  applyStatus(s, countAnyway);
  return s;
}

let refreshing = null;
let refreshAgain = false;
let countOnRefresh = false;
/**
 * Reads the status (one request at a time; a refresh asked for meanwhile runs once more after
 * it), then schedules the next poll. Never throws; resolves to what loadStatus returned.
 */
function refresh(options) {
  if (options && options.count) countOnRefresh = true;
  if (refreshing) {
    refreshAgain = true;
    return refreshing;
  }
  clearTimeout(pollTimer);
  pollTimer = null;
  refreshing = (async () => {
    let s;
    do {
      refreshAgain = false;
      const countAnyway = countOnRefresh;
      countOnRefresh = false;
      s = await loadStatus(countAnyway);
      // A count asked for with a failed request waits for the next one.
      if (s === undefined && countAnyway) countOnRefresh = true;
    } while (refreshAgain);
    schedulePoll(s);
    return s;
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

function schedulePoll(s) {
  clearTimeout(pollTimer);
  pollTimer = null;
  let delay = null;
  if (s === undefined) delay = Math.min(RETRY_MAX_MS, 1000 * 2 ** failures);
  else if (s && s.connected) delay = isRunning(s.backfill.status) ? POLL_IMPORT_MS : POLL_CONNECTED_MS;
  // An erasure shows its end, connected or not.
  else if (s && s.data && s.data.state === 'erasing') delay = POLL_IMPORT_MS;
  if (delay === null) return;
  pollTimer = setTimeout(() => {
    pollTimer = null;
    // A hidden tab is not polled: coming back refreshes at once (see visibilitychange).
    if (document.visibilityState !== 'hidden') refresh();
  }, delay);
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
    // A deleted customer stays in the API as a row with deleted: true; it is not a customer.
    total += collection === 'customers' ? page.data.filter((row) => !row.deleted).length : page.data.length;
    cursor = page.nextCursor;
  } while (cursor);
  return total;
}

let counting = null;
let countAgain = false;
let countRounds = 0;
function countRecords() {
  // A count asked for while one runs may have to see newer records: run once more after it.
  if (counting) { countAgain = true; return counting; }
  const records = $('records');
  counting = (async () => {
    do {
      countAgain = false;
      // Rounds are numbered: data-count-done above a data-count-started read earlier means a
      // count that began after that read has finished.
      const round = ++countRounds;
      records.dataset.countStarted = String(round);
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
      records.dataset.countDone = String(round);
    } while (countAgain);
  })().finally(() => { counting = null; });
  return counting;
}

$('disconnect').addEventListener('click', async () => {
  const button = $('disconnect');
  button.disabled = true;
  try {
    const eraseNow = $('erase-now').checked;
    const response = await fetch('/api/connect/stripe' + (eraseNow ? '?erase=now' : ''), { method: 'DELETE' });
    if (response.ok) show('ok', eraseNow
      ? 'Stripe is disconnected and the imported data is being erased.'
      : 'Stripe is disconnected. Compass no longer has access to your Stripe account; the imported data is kept 30 days.', 'disconnected');
    else if (response.status === 404) show('info', 'Stripe was not connected.', 'not_connected');
    else show('err', 'Disconnecting did not finish. Nothing is lost: press Disconnect again in a moment.', 'disconnect_failed');
  } catch {
    show('err', 'Compass cannot be reached. Press Disconnect again in a moment.', 'disconnect_failed');
  } finally {
    button.disabled = false;
  }
  await refresh();
});

$('erase-kept').addEventListener('click', async () => {
  const button = $('erase-kept');
  button.disabled = true;
  try {
    const response = await fetch('/api/connect/stripe?erase=now', { method: 'DELETE' });
    if (response.ok) show('ok', 'The data imported from Stripe is being erased.', 'erasing');
    else show('err', 'Erasing did not start. Press the button again in a moment.', 'erase_failed');
  } catch {
    show('err', 'Compass cannot be reached. Press the button again in a moment.', 'erase_failed');
  } finally {
    button.disabled = false;
  }
  await refresh();
});

$('resync').addEventListener('click', async () => {
  const button = $('resync');
  button.disabled = true;
  try {
    const response = await fetch('/api/connect/stripe/backfill', { method: 'POST' });
    if (response.status === 202) show('ok', 'A fresh import from Stripe has started.', 'resync_started');
    else if (response.status === 409) show('info', 'An import is already running; it will finish on its own.', 'resync_running');
    else if (response.status === 404) show('err', 'Connect Stripe first.', 'resync_not_connected');
    else show('err', 'The import could not be started. Please try again in a minute.', 'resync_failed');
  } catch {
    show('err', 'Compass cannot be reached, so no import was started. Press Re-sync again in a moment.', 'resync_unreachable');
  } finally {
    button.disabled = false;
  }
  // The status decides whether Re-sync stays enabled (not while an import runs).
  await refresh();
});

$('recount').addEventListener('click', () => refresh({ count: true }));

$('secret-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const input = $('secret');
  const button = $('save-secret');
  button.disabled = true;
  try {
    const response = await fetch('/api/connect/stripe/webhook-secret', {
      method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ secret: input.value }),
    });
    input.value = '';
    if (response.status === 204) show('ok', 'Webhook signing secret saved.', 'secret_saved');
    else if (response.status === 400 || response.status === 413) show('err', 'That is not a Stripe signing secret: it starts with whsec_ (copy it from the endpoint in your Stripe dashboard).', 'secret_invalid');
    else if (response.status === 404) show('err', 'Connect Stripe first.', 'secret_not_connected');
    else show('err', 'The secret could not be saved. Please try again in a minute.', 'secret_failed');
  } catch {
    // The secret stays in the field, so Save can simply be pressed again.
    show('err', 'Compass cannot be reached, so the secret was not saved. Press Save again in a moment.', 'secret_unreachable');
  } finally {
    button.disabled = false;
  }
  await refresh();
});

// Back from the emulator's tab (or any other): show what changed meanwhile.
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible') refresh({ count: true });
});

refresh();
</script>
</body>
</html>`;
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
