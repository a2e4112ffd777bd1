import type { EmulatorEventType } from './emulator-events.ts';

export interface EmulatorDashboardView {
  readonly accountId: string;
  readonly connected: boolean;
  readonly counts: Readonly<Record<string, number>>;
  /** The local stack's settings page, once a stack listens for events. */
  readonly settingsUrl: string | undefined;
  readonly types: readonly EmulatorEventType[];
}

const COUNT_LABELS: Readonly<Record<string, string>> = {
  customers: 'Customers',
  subscriptions: 'Subscriptions',
  invoices: 'Invoices',
  invoicePayments: 'Invoice payments',
  paymentIntents: 'Payment intents',
  charges: 'Charges',
  creditNotes: 'Credit notes',
  disputes: 'Disputes',
};

/**
 * The emulator's home page: the demo account, what it holds, and one button per event the
 * local stack understands. A button posts `{type}` as JSON to `/_emulator/events`, which changes
 * the account's data and delivers the signed events to the Connect endpoint; the page shows
 * each delivery's answer.
 */
export function renderEmulatorDashboard(view: EmulatorDashboardView): string {
  const counts = Object.entries(view.counts)
    .map(
      ([name, count]) =>
        `<dt>${escapeHtml(COUNT_LABELS[name] ?? name)}</dt><dd data-testid="emulator-count-${escapeHtml(name)}">${count}</dd>`,
    )
    .join('');
  const buttons = view.types
    .map(
      (entry) =>
        `<li><button type="button" data-event="${escapeHtml(entry.type)}" data-testid="fire-${escapeHtml(entry.type)}">${escapeHtml(entry.label)}</button> <code>${escapeHtml(entry.type)}</code><br><small>${escapeHtml(entry.description)}</small></li>`,
    )
    .join('\n');
  const back = view.settingsUrl
    ? `<p><a id="back-to-settings" href="${escapeHtml(view.settingsUrl)}">← Compass settings page</a></p>`
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Stripe emulator (local)</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { font: 15px/1.5 system-ui, sans-serif; max-width: 48rem; margin: 2rem auto; padding: 0 1rem; color: #1d2433; }
  dl { display: grid; grid-template-columns: 12rem 1fr; gap: .15rem 1rem; }
  ul { list-style: none; padding: 0; } li { margin: .6rem 0; }
  button { font: inherit; padding: .35rem .8rem; border-radius: .4rem; border: 1px solid #635bff; background: #635bff; color: #fff; cursor: pointer; }
  button:disabled { opacity: .5; cursor: progress; }
  #result { white-space: pre-wrap; background: #f4f5f8; padding: .75rem 1rem; border-radius: .5rem; min-height: 1.5rem; }
  .warn { background: #fff4e5; padding: .5rem 1rem; border-radius: .5rem; }
</style>
</head>
<body>
<h1>Stripe emulator</h1>
<p>Local stand-in for Stripe. Demo clinic account <code id="account">${escapeHtml(view.accountId)}</code>:
<strong id="connected" data-connected="${view.connected}">${view.connected ? 'connected to Compass' : 'not connected to Compass'}</strong>.</p>
${view.connected ? '' : '<p class="warn" id="not-connected">Connect it on the Compass settings page first: Stripe sends a platform the events of connected accounts only.</p>'}
${back}
<h2>What the account holds</h2>
<dl id="counts">${counts}</dl>
<h2>Send an event</h2>
<p>Each button changes the account as described, then posts the event, signed like Stripe does, to
Compass's Connect webhook endpoint. The same from a terminal: <code>npm run dev:events -- &lt;type&gt;</code>.</p>
<ul id="events">
${buttons}
</ul>
<h2>Last delivery</h2>
<div id="result" data-testid="fire-result" aria-live="polite"></div>
<script>
const result = document.getElementById('result');
function describe(answer) {
  if (answer.deliveries) {
    return answer.deliveries.map((d) => {
      const outcome = d.response && typeof d.response === 'object' && d.response.outcome
        ? d.response.outcome + (d.response.reason ? ' (' + d.response.reason + ')' : '')
        : JSON.stringify(d.response);
      return d.type + ' ' + d.eventId + ' → HTTP ' + d.status + ': ' + outcome;
    }).join('\\n');
  }
  return 'Not sent: ' + (answer.message || answer.error || 'unknown error');
}
for (const button of document.querySelectorAll('button[data-event]')) {
  button.addEventListener('click', async () => {
    const buttons = document.querySelectorAll('button[data-event]');
    for (const b of buttons) b.disabled = true;
    result.dataset.state = 'sending';
    result.textContent = 'Sending ' + button.dataset.event + '…';
    try {
      const response = await fetch('/_emulator/events', {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ type: button.dataset.event }),
      });
      const answer = await response.json();
      result.textContent = describe(answer);
      result.dataset.state = response.ok ? 'sent' : 'failed';
      const state = await (await fetch('/_emulator/events')).json();
      for (const [name, count] of Object.entries(state.counts)) {
        const cell = document.querySelector('[data-testid="emulator-count-' + name + '"]');
        if (cell) cell.textContent = String(count);
      }
      const connected = document.getElementById('connected');
      connected.dataset.connected = String(state.connected);
      connected.textContent = state.connected ? 'connected to Compass' : 'not connected to Compass';
    } catch (error) {
      result.textContent = 'Not sent: the emulator did not answer.';
      result.dataset.state = 'failed';
    } finally {
      for (const b of buttons) b.disabled = false;
    }
  });
}
</script>
</body>
</html>`;
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
