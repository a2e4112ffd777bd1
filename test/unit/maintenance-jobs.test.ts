import { describe, expect, it } from 'vitest';
import { parseErasureJob, parseReconcileJob } from '#shared/domain/maintenance-jobs.ts';
import { ValidationError } from '#shared/errors/validation-error.ts';
import { SWEEP_SPREAD_SECONDS, spreadDelay } from '#shared/use-cases/reconcile/schedule-sweeps.ts';

describe('the reconcile and erasure queues accept only well-formed jobs', () => {
  it('reads the tick, its continuation, a tenant sweep and a direct {tenantId}', () => {
    expect(parseReconcileJob('{"kind":"all"}')).toEqual({ kind: 'all' });
    expect(parseReconcileJob({ kind: 'all', cursor: 'eyJway' })).toEqual({ kind: 'all', cursor: 'eyJway' });
    expect(parseReconcileJob({ kind: 'tenant', tenantId: 'tenant_a' })).toEqual({
      kind: 'tenant',
      tenantId: 'tenant_a',
    });
    expect(parseReconcileJob({ tenantId: 'tenant_a' })).toEqual({ kind: 'tenant', tenantId: 'tenant_a' });
    expect(parseErasureJob('{"tenantId":"t1","stripeAccountId":"acct_1Abc"}')).toEqual({
      tenantId: 't1',
      stripeAccountId: 'acct_1Abc',
    });
  });

  it.each([
    ['not JSON', '{'],
    ['an array', '[]'],
    ['another kind', { kind: 'everything' }],
    ['a tenant id too long for a key', { kind: 'tenant', tenantId: 'x'.repeat(2000) }],
    ['a tenant id with a #', { kind: 'tenant', tenantId: 'a#b' }],
    ['a cursor that is not base64url', { kind: 'all', cursor: '{"pk":1}' }],
  ])('refuses %s as a reconcile job', (_case, input) => {
    expect(() => parseReconcileJob(input)).toThrow(ValidationError);
  });

  it.each([
    ['no account', { tenantId: 't1' }],
    ['an account that is not acct_', { tenantId: 't1', stripeAccountId: 'cus_1' }],
    ['a 10 KB account', { tenantId: 't1', stripeAccountId: `acct_${'a'.repeat(10_000)}` }],
  ])('refuses %s as an erasure job', (_case, input) => {
    expect(() => parseErasureJob(input)).toThrow(ValidationError);
  });
});

describe('the sweeps of one tick are spread', () => {
  it('gives each tenant a stable delay, in whole minutes, within the spread', () => {
    const delays = Array.from({ length: 500 }, (_, i) => spreadDelay(`tenant_${i}`));
    expect(spreadDelay('tenant_7')).toBe(spreadDelay('tenant_7'));
    expect(delays.every((d) => d % 60 === 0 && d >= 0 && d < SWEEP_SPREAD_SECONDS)).toBe(true);
    // 500 tenants over 10 slots: every slot used, none with more than twice its share.
    const perSlot = new Map<number, number>();
    for (const d of delays) perSlot.set(d, (perSlot.get(d) ?? 0) + 1);
    expect(perSlot.size).toBe(SWEEP_SPREAD_SECONDS / 60);
    expect(Math.max(...perSlot.values())).toBeLessThan(100);
    expect(spreadDelay('tenant_7', 0)).toBe(0);
  });
});
