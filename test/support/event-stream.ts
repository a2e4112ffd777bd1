import {
  creditNoteAmounts,
  current,
  legacy,
  stripeEvent,
  T0,
} from '../../scripts/stripe-emulator/stripe-objects.ts';

type Event = Record<string, unknown>;
type EventOf = { data: { object: { id: string } } };

/** A small deterministic PRNG, so shuffles and picks repeat exactly from a seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A realistic stream of `count` Stripe events for one account, in creation order: customers
 * created and updated (some deleted), subscriptions created then updated (plan changes, past_due,
 * cancel at period end) and some deleted, invoices paid / failed / voided, one-time payments,
 * refunds, credit notes (issued and voided) and disputes (opened, updated, closed). Events share `created` seconds now and then, so the tie-break is exercised. Both API
 * shapes appear.
 */
export function eventStream(count: number, options: { seed?: number; account?: string } = {}): Event[] {
  const random = seededRandom(options.seed ?? 1);
  const events: Event[] = [];
  let clock = T0;
  const tick = () => {
    // About one event in five shares its second with the previous one.
    if (random() > 0.2) clock += 1 + Math.floor(random() * 30);
    return clock;
  };
  const customers: string[] = [];
  const subscriptions: { id: string; customer: string; status: string }[] = [];
  const opts = (created: number) => ({ created, ...(options.account ? { account: options.account } : {}) });
  const shapeOf = () => (random() < 0.5 ? current : legacy);

  while (events.length < count) {
    const roll = random();
    const created = tick();
    if (customers.length < 3 || roll < 0.15) {
      const id = `cus_S${String(customers.length).padStart(4, '0')}`;
      customers.push(id);
      events.push(stripeEvent('customer.created', current.customer({ id, created }), opts(created)));
    } else if (roll < 0.22) {
      const id = customers[Math.floor(random() * customers.length)] ?? '';
      const type = random() < 0.2 ? 'customer.deleted' : 'customer.updated';
      events.push(stripeEvent(type, current.customer({ id, created: T0 }), opts(created)));
    } else if (roll < 0.4 || subscriptions.length === 0) {
      const id = `sub_S${String(subscriptions.length).padStart(4, '0')}`;
      const customer = customers[Math.floor(random() * customers.length)] ?? '';
      subscriptions.push({ id, customer, status: 'active' });
      const shape = shapeOf();
      events.push(
        stripeEvent(
          'customer.subscription.created',
          shape.subscription({ id, customer, created }),
          opts(created),
        ),
      );
    } else if (roll < 0.6) {
      const sub = subscriptions[Math.floor(random() * subscriptions.length)];
      if (!sub) continue;
      const shape = shapeOf();
      const r = random();
      if (r < 0.15) {
        sub.status = 'canceled';
        events.push(
          stripeEvent(
            'customer.subscription.deleted',
            shape.subscription({
              id: sub.id,
              customer: sub.customer,
              status: 'canceled',
              canceled_at: created,
              ended_at: created,
            }),
            opts(created),
          ),
        );
      } else {
        const status = r < 0.4 ? 'past_due' : 'active';
        const quantity = 1 + Math.floor(random() * 3);
        events.push(
          stripeEvent(
            'customer.subscription.updated',
            shape.subscription({
              id: sub.id,
              customer: sub.customer,
              status,
              cancel_at_period_end: random() < 0.2,
              items: {
                object: 'list',
                data: [shape.subscriptionItem({ quantity })],
                has_more: false,
                url: '/v1/subscription_items',
              },
            }),
            opts(created),
          ),
        );
      }
    } else if (roll < 0.85) {
      const id = `in_S${String(events.length).padStart(5, '0')}`;
      const sub = subscriptions[Math.floor(random() * subscriptions.length)];
      const r = random();
      const [type, status, paid] =
        r < 0.7
          ? ['invoice.paid', 'paid', 4900]
          : r < 0.85
            ? ['invoice.payment_failed', 'open', 0]
            : ['invoice.voided', 'void', 0];
      events.push(
        stripeEvent(
          type,
          current.invoice({
            id,
            customer: sub?.customer,
            status,
            amount_paid: paid,
            created,
            parent: {
              type: 'subscription_details',
              quote_details: null,
              subscription_details: { metadata: {}, subscription: sub?.id ?? null },
            },
          }),
          opts(created),
        ),
      );
    } else if (roll < 0.885) {
      // A credit note on an invoice of the stream, issued or voided (some twice over).
      const invoices = events.filter((e) => e.type === 'invoice.paid');
      const invoice = invoices[Math.floor(random() * invoices.length)] as EventOf | undefined;
      if (!invoice) continue;
      const voided = random() < 0.35;
      events.push(
        stripeEvent(
          voided ? 'credit_note.voided' : 'credit_note.created',
          current.creditNote({
            id: `cn_S${invoice.data.object.id}_${Math.floor(random() * 2)}`,
            invoice: invoice.data.object.id,
            status: voided ? 'void' : 'issued',
            ...creditNoteAmounts(100 + Math.floor(random() * 900)),
          }),
          opts(created),
        ),
      );
    } else if (roll < 0.92) {
      // A dispute of a one-time payment of the stream, opened, updated or closed.
      const intents = events.filter((e) => e.type === 'payment_intent.succeeded');
      const intent = intents[Math.floor(random() * intents.length)] as EventOf | undefined;
      if (!intent) continue;
      const [type, status] = (
        [
          ['charge.dispute.created', 'needs_response'],
          ['charge.dispute.updated', 'under_review'],
          ['charge.dispute.closed', random() < 0.5 ? 'lost' : 'won'],
        ] as const
      )[Math.floor(random() * 3)] as readonly [string, string];
      events.push(
        stripeEvent(
          type,
          current.dispute({
            id: `du_S${intent.data.object.id}`,
            payment_intent: intent.data.object.id,
            amount: 100 + Math.floor(random() * 900),
            status,
          }),
          opts(created),
        ),
      );
    } else if (roll < 0.96) {
      const id = `pi_S${String(events.length).padStart(5, '0')}`;
      events.push(
        stripeEvent(
          'payment_intent.succeeded',
          legacy.oneTimePaymentIntent({ id, customer: customers[0], created }),
          opts(created),
        ),
      );
    } else {
      const pis = events.filter((e) => e.type === 'payment_intent.succeeded');
      const pi = pis[Math.floor(random() * pis.length)] as EventOf | undefined;
      if (!pi) continue;
      events.push(
        stripeEvent(
          'charge.refunded',
          legacy.charge({
            id: `ch_S${String(events.length).padStart(5, '0')}`,
            payment_intent: pi.data.object.id,
            invoice: null,
            amount_refunded: 100 + Math.floor(random() * 500),
          }),
          opts(created),
        ),
      );
    }
  }
  return events;
}

/** The same events shuffled, with a share of them delivered twice (Stripe's at-least-once). */
export function shuffledWithDuplicates(events: Event[], duplicateShare: number, seed = 7): Event[] {
  const random = seededRandom(seed);
  const out = [...events];
  const duplicates = Math.round(events.length * duplicateShare);
  for (let i = 0; i < duplicates; i++) out.push(events[Math.floor(random() * events.length)] as Event);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as Event, out[i] as Event];
  }
  return out;
}
