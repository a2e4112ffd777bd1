import { describe, expect, it } from 'vitest';
import {
  mayOverwrite,
  type RecordVersion,
  refundMayOverwrite,
  versionOrder,
} from '#shared/domain/record-ordering.ts';
import { eventRank } from '#shared/domain/stripe-kinds/registry.ts';

const v = (created: number, rank: RecordVersion['rank'], eventId: string): RecordVersion => ({
  created,
  rank,
  eventId,
});
const stored = (version: RecordVersion) => ({ order: versionOrder(version), eventId: version.eventId });

describe('record ordering: what may overwrite a record', () => {
  it('ranks the events of one second by meaning: created, then changes, then deletions', () => {
    expect(eventRank('customer.created')).toBe(1);
    expect(eventRank('customer.subscription.updated')).toBe(2);
    expect(eventRank('invoice.paid')).toBe(2);
    expect(eventRank('customer.subscription.deleted')).toBe(3);
    expect(eventRank('invoice.voided')).toBe(3);
  });

  it('a record nothing wrote yet takes any write', () => {
    expect(mayOverwrite(undefined, v(100, 0, '0backfill'))).toBe(true);
  });

  it('a later second wins whatever the ranks; an earlier one never does', () => {
    expect(mayOverwrite(stored(v(100, 3, 'evt_b')), v(101, 1, 'evt_a'))).toBe(true);
    expect(mayOverwrite(stored(v(101, 1, 'evt_a')), v(100, 3, 'evt_z'))).toBe(false);
  });

  it('within one second a deletion beats an update, an update a creation, any event a snapshot', () => {
    expect(mayOverwrite(stored(v(100, 2, 'evt_z')), v(100, 3, 'evt_a'))).toBe(true);
    expect(mayOverwrite(stored(v(100, 3, 'evt_a')), v(100, 2, 'evt_z'))).toBe(false);
    expect(mayOverwrite(stored(v(100, 1, 'evt_z')), v(100, 2, 'evt_a'))).toBe(true);
    expect(mayOverwrite(stored(v(100, 1, 'evt_a')), v(100, 0, '0backfill'))).toBe(false);
    expect(mayOverwrite(stored(v(100, 0, '0backfill')), v(100, 1, 'evt_a'))).toBe(true);
  });

  it('same second and rank: the larger event id wins, and the same event again is allowed', () => {
    expect(mayOverwrite(stored(v(100, 2, 'evt_a')), v(100, 2, 'evt_b'))).toBe(true);
    expect(mayOverwrite(stored(v(100, 2, 'evt_b')), v(100, 2, 'evt_a'))).toBe(false);
    expect(mayOverwrite(stored(v(100, 2, 'evt_a')), v(100, 2, 'evt_a'))).toBe(true);
  });

  it('a refund total: a later event wins; within one event order the larger total', () => {
    expect(refundMayOverwrite(undefined, { order: 400, amount: 0 })).toBe(true);
    expect(refundMayOverwrite({ order: 400, amount: 500 }, { order: 404, amount: 100 })).toBe(true);
    expect(refundMayOverwrite({ order: 404, amount: 100 }, { order: 400, amount: 500 })).toBe(false);
    expect(refundMayOverwrite({ order: 400, amount: 100 }, { order: 400, amount: 500 })).toBe(true);
    expect(refundMayOverwrite({ order: 400, amount: 500 }, { order: 400, amount: 100 })).toBe(false);
    expect(refundMayOverwrite({ order: 400, amount: 500 }, { order: 400, amount: 500 })).toBe(true);
  });
});
