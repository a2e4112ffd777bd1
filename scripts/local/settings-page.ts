/**
 * A minimal stand-in for Compass's Settings → Integrations page, so the OAuth redirects land
 * somewhere locally. It uses only the public routes. Outcome words map to fixed sentences: the
 * query string itself is never written into the page.
 */
export function renderSettingsPage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Integrations · Compass (local)</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { font: 15px/1.5 system-ui, sans-serif; max-width: 44rem; margin: 2rem auto; padding: 0 1rem; color: #1d2433; }
  .banner { padding: .75rem 1rem; border-radius: .5rem; margin: 1rem 0; }
  .ok { background: #e6f6ec; } .err { background: #fdecea; }
  dl { display: grid; grid-template-columns: 14rem 1fr; gap: .25rem 1rem; }
  button, input { font: inherit; padding: .4rem .8rem; }
  input { width: 24rem; }
</style>
</head>
<body>
<h1>Stripe</h1>
<div id="banner" hidden class="banner"></div>
<dl id="status"><dt>Status</dt><dd>Loading…</dd></dl>
<p>
  <a id="connect" href="/api/connect/stripe"><button type="button">Connect Stripe</button></a>
  <button id="disconnect" type="button" hidden>Disconnect</button>
</p>
<form id="secret-form" hidden>
  <label>Webhook signing secret <input id="secret" name="secret" type="password" autocomplete="off" placeholder="whsec_…"></label>
  <button type="submit">Save</button>
</form>
<script>
const MESSAGES = {
  connected: ['ok', 'Stripe is connected. Your history is being imported.'],
  stripe_denied: ['err', 'The connection was cancelled on Stripe. Nothing was connected.'],
  stripe_state_invalid: ['err', 'That connection link expired or was already used. Please press Connect again.'],
  stripe_exchange_failed: ['err', 'Stripe did not complete the connection. Please try again in a minute.'],
  stripe_account_in_use: ['err', 'That Stripe account is already connected to another Compass workspace.'],
};
const params = new URLSearchParams(location.search);
const word = params.get('connected') === 'stripe' ? 'connected' : params.get('error');
const message = Object.hasOwn(MESSAGES, word ?? '') ? MESSAGES[word] : null;
const banner = document.getElementById('banner');
if (message) { banner.className = 'banner ' + message[0]; banner.textContent = message[1]; banner.hidden = false; }

function row(list, label, value) {
  const dt = document.createElement('dt'); dt.textContent = label;
  const dd = document.createElement('dd'); dd.textContent = value;
  list.append(dt, dd);
}
async function refresh() {
  const list = document.getElementById('status');
  const response = await fetch('/api/connect/stripe/status');
  list.replaceChildren();
  if (response.status === 401) {
    row(list, 'Status', 'Not signed in: use the sign-in link printed by npm run dev.');
    return;
  }
  const s = await response.json();
  row(list, 'Status', s.connected ? 'Connected' : s.state === 'disconnecting' ? 'Disconnect unfinished: press Disconnect again' : 'Not connected');
  if (s.connected) {
    row(list, 'Stripe account', s.stripeAccountId);
    row(list, 'Mode', s.livemode ? 'Live' : 'Test');
    row(list, 'Connected at', new Date(s.connectedAt).toLocaleString());
    row(list, 'Webhook secret', s.webhookSecretConfigured ? 'Configured' : 'Not configured');
    row(list, 'Backfill', s.backfill.status ?? 'none');
  }
  document.getElementById('connect').hidden = s.connected;
  document.getElementById('disconnect').hidden = !(s.connected || s.state === 'disconnecting');
  document.getElementById('secret-form').hidden = !s.connected;
}
document.getElementById('disconnect').addEventListener('click', async () => {
  await fetch('/api/connect/stripe', { method: 'DELETE' });
  history.replaceState(null, '', location.pathname);
  banner.hidden = true;
  await refresh();
});
document.getElementById('secret-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const input = document.getElementById('secret');
  const response = await fetch('/api/connect/stripe/webhook-secret', {
    method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ secret: input.value }),
  });
  input.value = '';
  banner.hidden = false;
  if (response.ok) { banner.className = 'banner ok'; banner.textContent = 'Webhook signing secret saved.'; }
  else { banner.className = 'banner err'; banner.textContent = (await response.json()).message; }
  await refresh();
});
refresh();
</script>
</body>
</html>`;
}
