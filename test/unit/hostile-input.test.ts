import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { parseStripeEvent } from '#shared/domain/stripe-event-envelope.ts';
import {
  isImpossibleStripeId,
  isStripeAccountId,
  isStripeEventId,
  isStripeObjectId,
  MAX_STRIPE_ID_LENGTH,
} from '#shared/domain/stripe-ids.ts';
import { mapCustomerObject } from '#shared/domain/stripe-kinds/customer.ts';
import { mapInvoiceObject } from '#shared/domain/stripe-kinds/invoice-order.ts';
import { mapSubscriptionObject } from '#shared/domain/stripe-kinds/subscription.ts';
import { matchPath, parseRequestUrl } from '../../scripts/local/api-gateway-event.ts';
import { current, legacy, stripeEvent } from '../../scripts/stripe-emulator/stripe-objects.ts';

/** DynamoDB's limit on a sort key, in UTF-8 bytes. */
const SORT_KEY_LIMIT = 1024;
/** The widest `created` a record can have (`Date`'s last year), as `{created}#{id}` holds it. */
const WIDEST_ISO = '+275760-09-13T00:00:00.000Z';

const parse = (event: object) => parseStripeEvent(JSON.parse(JSON.stringify(event)));

describe('stripe-ids', () => {
  it.each([
    'cus_NffrFeUfNV2Hib',
    'in_1MtHbELkdIwHu7ixl4OzzPMv',
    'pi_3MtwBwLkdIwHu7ix28a3tqPa',
    'inpay_1QFixturePayment',
    're_3MtwBwLkdIwHu7ix0k2pZd9q',
    'py_1Nbx2kLkdIwHu7ixk5sJ5l4R',
    // Customers, products and plans may carry ids their owner chose.
    'patient-1042',
    'gold plan',
    'x'.repeat(MAX_STRIPE_ID_LENGTH),
  ])('takes %s as an object id', (id) => {
    expect(isStripeObjectId(id)).toBe(true);
  });

  it.each([
    ['empty', ''],
    ['256 characters', 'x'.repeat(MAX_STRIPE_ID_LENGTH + 1)],
    ['non-ASCII', 'cus_é'],
    ['a quote', 'cus_"1'],
    ['a backslash', 'cus_\\1'],
    ['a NUL', 'cus_\u00001'],
    ['a newline', 'cus_1\n'],
    ['a lone surrogate', 'cus_\uD800'],
    ['a number', 42],
    ['null', null],
  ])('refuses %s as an object id', (_, id) => {
    expect(isStripeObjectId(id)).toBe(false);
  });

  it('keeps every record sort key of an accepted id under 1024 bytes, and every id a cursor holds unescaped', () => {
    const widest = '~'.repeat(MAX_STRIPE_ID_LENGTH);
    expect(isStripeObjectId(widest)).toBe(true);
    expect(Buffer.byteLength(`${WIDEST_ISO}#${widest}`)).toBeLessThan(SORT_KEY_LIMIT);
    // One byte per character: the longest id is as long in bytes as in characters.
    for (let code = 0; code < 0x2000; code++) {
      const id = `cus_${String.fromCharCode(code)}`;
      if (isStripeObjectId(id)) {
        expect(Buffer.byteLength(id)).toBe(id.length);
        expect(JSON.stringify(id)).toBe(`"${id}"`);
      }
    }
  });

  it.each([
    ['evt_1NG8Du2eZvKYlo2CUI79vXWy', true],
    ['evt_00000000000000', true],
    [`evt_${'x'.repeat(251)}`, true],
    [`evt_${'x'.repeat(252)}`, false],
    ['evt_', false],
    ['evt_1-2', false],
    ['cus_1', false],
  ])('event id %s → %s', (id, ok) => {
    expect(isStripeEventId(id)).toBe(ok);
  });

  it.each([
    ['acct_1032D82eZvKYlo2C', true],
    [`acct_${'a'.repeat(64)}`, true],
    [`acct_${'a'.repeat(65)}`, false],
    ['acct_', false],
    ['acct_1_2', false],
    ['ACCT_1', false],
    ['', false],
  ])('account id %s → %s', (id, ok) => {
    expect(isStripeAccountId(id)).toBe(ok);
  });

  it.each([
    ['256 characters', 'x'.repeat(256), true],
    ['a NUL', 'cus_\u0000', true],
    ['a C1 control', 'cus_\u0085', true],
    ['a lone low surrogate', '\uDC00cus', true],
    ['another alphabet', 'cus_Müller', false],
    ['an emoji (a surrogate pair)', 'cus_😀', false],
    ['255 characters', 'x'.repeat(255), false],
  ])('%s: impossible for a Stripe id → %s', (_, id, impossible) => {
    expect(isImpossibleStripeId(id)).toBe(impossible);
  });
});

describe('parseStripeEvent refuses what would reach a key', () => {
  const customerEvent = (options: Parameters<typeof stripeEvent>[2] = {}, object = current.customer()) =>
    stripeEvent('customer.created', object, options);

  it.each([
    ['10 KB long', `acct_${'x'.repeat(10_000)}`],
    ['of another kind', 'cus_1'],
    ['empty', ''],
    ['with a NUL', 'acct_1\u0000'],
  ])('an account %s', (_, account) => {
    expect(parse(customerEvent({ account }))).toBeUndefined();
  });

  it('takes an acct_ account, and none at all', () => {
    expect(parse(customerEvent({ account: 'acct_1Clinic' }))?.account).toBe('acct_1Clinic');
    expect(parse(customerEvent())?.account).toBeNull();
  });

  it.each([
    ['300 characters', `cus_${'x'.repeat(300)}`],
    ['a NUL', 'cus_1\u0000'],
    ['a lone surrogate', 'cus_\uD800'],
  ])('a data.object.id of %s', (_, id) => {
    expect(parse(customerEvent({}, current.customer({ id })))).toBeUndefined();
  });

  it('leaves unusual, missing and non-string object ids to the mapping (ignored as malformed)', () => {
    for (const id of ['cus_Müller', '', 42, undefined]) {
      expect(parse(customerEvent({}, current.customer({ id })))).toBeDefined();
    }
  });

  it('takes an object that has no id at all (a Balance)', () => {
    const balance = { object: 'balance', available: [], livemode: false };
    expect(parse(stripeEvent('balance.available', balance))?.type).toBe('balance.available');
  });
});

describe('the mappers keep only key-safe ids (backfill pages go through them too)', () => {
  it.each([
    ['non-ASCII', 'cus_Müller'],
    ['a quote', 'cus_"x'],
    ['256 characters', `cus_${'x'.repeat(252)}`],
  ])('a customer whose id has %s is skipped', (_, id) => {
    expect(mapCustomerObject(current.customer({ id }))).toBeUndefined();
  });

  it('a subscription or invoice that names a customer id no key can hold is skipped', () => {
    expect(mapSubscriptionObject(current.subscription({ customer: 'cus_\u0000' }))).toBeUndefined();
    expect(mapInvoiceObject(legacy.invoice({ subscription: `sub_${'é'.repeat(200)}` }))).toBeUndefined();
  });

  it('price and product ids are fields: bounded in length only', () => {
    const item = legacy.subscriptionItem({
      price: legacy.price({ id: 'Prix été', product: 'Thérapie' }),
      plan: undefined,
    });
    const record = mapSubscriptionObject(legacy.subscription({ items: { object: 'list', data: [item] } }));
    expect(record?.items[0]).toMatchObject({ priceId: 'Prix été', productId: 'Thérapie' });
    const long = legacy.subscriptionItem({ price: legacy.price({ id: 'p'.repeat(256) }), plan: undefined });
    expect(
      mapSubscriptionObject(legacy.subscription({ items: { object: 'list', data: [long] } })),
    ).toBeUndefined();
  });
});

describe('local stack routing', () => {
  it('passes path parameters decoded, as API Gateway does', () => {
    expect(matchPath('/api/webhooks/stripe/{slug}', '/api/webhooks/stripe/clinic%2Done')).toEqual({
      slug: 'clinic-one',
    });
    expect(matchPath('/api/webhooks/stripe/{slug}', '/api/webhooks/stripe/a%2Fb')).toEqual({ slug: 'a/b' });
  });

  it.each(['%zz', '%E0%A4%A', '%C0%AF', '%ED%A0%80', '%'])(
    'matches no route for the undecodable %s',
    (segment) => {
      expect(matchPath('/api/webhooks/stripe/{slug}', `/api/webhooks/stripe/${segment}`)).toBeUndefined();
    },
  );

  it('reads a request target that is not a URL as none', () => {
    const req = (url: string) => ({ url }) as IncomingMessage;
    expect(parseRequestUrl(req('http://[bad/x'), 'http://localhost:3000')).toBeUndefined();
    expect(parseRequestUrl(req('/api/stripe/customers?limit=1'), 'http://localhost:3000')?.pathname).toBe(
      '/api/stripe/customers',
    );
  });
});
