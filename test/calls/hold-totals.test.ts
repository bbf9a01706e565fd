// Proves the running total of each organisation's holds (call_hold_totals, migration
// 20261201000600), which call_holds_sum now reads instead of summing every open hold:
// - after generated sequences of statements of every shape on calls (inserts, updates of amount,
//   state and organisation, multi-row updates, deletes) and of the hold functions (admission
//   batches, hold-record batches, release, cancel, settle-not-found), in one transaction and across
//   several, the total equals the sum over the rows, and call_holds_sum equals the old definition
//   (live, unexpired holds) at any moment (fast-check, seeded);
// - a new wallet starts with a total of 0, and a total that would go negative raises;
// - the hold functions racing on the same organisations and calls (the three single-call changes
//   against hold batches written one hold at a time) never deadlock and leave the totals exact.
import fc from 'fast-check';
import type { Pool, PoolClient } from 'pg';
import { createFundedOrg, createTestContext, type TestContext } from '../support/context';

const BASE_MS = Date.UTC(2026, 11, 1, 12, 0, 0);
const TERMS = [56, 79, 5, 300, 10, 43_200] as const; // rate, min balance, margin, grace, min and max seconds

/** Rows where the total and the sum over the rows disagree (empty when exact), for the given orgs. */
async function drift(db: Pool | PoolClient, orgs: string[], nowIso: string) {
  const r = await db.query<{ org_id: string; total: number | null; rows: number; sum_now: number; rows_now: number }>(
    `select w.org_id, t.held as total,
            coalesce((select sum(hold_amount) from calls c where c.org_id = w.org_id and c.hold_state = 'held'), 0)::bigint as rows,
            call_holds_sum(w.org_id, $2::timestamptz) as sum_now,
            coalesce((select sum(hold_amount) from calls c where c.org_id = w.org_id and c.hold_state = 'held'
                        and c.hold_expires_at > $2::timestamptz), 0)::bigint as rows_now
       from wallets w left join call_hold_totals t on t.org_id = w.org_id
      where w.org_id = any($1::uuid[])`,
    [orgs, nowIso],
  );
  expect(r.rows).toHaveLength(orgs.length);
  return r.rows.filter((x) => x.total !== x.rows || x.sum_now !== x.rows_now);
}

const holdRecord = (callId: string, orgId: string, slices: number, expiresAtMs: number) => ({
  call_id: callId,
  org_id: orgId,
  amount: 112 * slices,
  max_duration_seconds: 600,
  expires_at_ms: expiresAtMs,
  admitted_at_ms: BASE_MS,
  policy: 'metered',
  cap: 560,
  held_seconds: 120 * slices,
  slices,
});

type Op =
  | { kind: 'insert'; org: number; call: number; amount: number; held: boolean; expiresInS: number }
  | { kind: 'amount'; call: number; amount: number }
  | { kind: 'state'; call: number; held: boolean }
  | { kind: 'move'; call: number; org: number }
  | { kind: 'releaseAll'; org: number }
  | { kind: 'delete'; call: number }
  | { kind: 'admit'; orgs: number[]; call: number }
  | { kind: 'record'; holds: Array<{ org: number; call: number; slices: number; expiresInS: number }>; poison: boolean }
  | { kind: 'release'; call: number }
  | { kind: 'cancel'; call: number }
  | { kind: 'notFound'; call: number }
  | { kind: 'commit' };

const org = fc.integer({ min: 0, max: 2 });
const call = fc.integer({ min: 0, max: 9 });
const expiresInS = fc.integer({ min: -120, max: 3600 });
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('insert' as const), org, call, amount: fc.integer({ min: 0, max: 5000 }), held: fc.boolean(), expiresInS }),
  fc.record({ kind: fc.constant('amount' as const), call, amount: fc.integer({ min: 0, max: 5000 }) }),
  fc.record({ kind: fc.constant('state' as const), call, held: fc.boolean() }),
  fc.record({ kind: fc.constant('move' as const), call, org }),
  fc.record({ kind: fc.constant('releaseAll' as const), org }),
  fc.record({ kind: fc.constant('delete' as const), call }),
  fc.record({ kind: fc.constant('admit' as const), orgs: fc.array(org, { minLength: 1, maxLength: 4 }), call }),
  fc.record({ kind: fc.constant('record' as const), holds: fc.array(fc.record({ org, call, slices: fc.integer({ min: 1, max: 3 }), expiresInS }), { minLength: 1, maxLength: 5 }), poison: fc.boolean() }),
  fc.record({ kind: fc.constant('release' as const), call }),
  fc.record({ kind: fc.constant('cancel' as const), call }),
  fc.record({ kind: fc.constant('notFound' as const), call }),
  fc.record({ kind: fc.constant('commit' as const) }),
);

describe('call_hold_totals: the running total of holds', () => {
  let ctx: TestContext;
  let orgs: string[];
  beforeAll(async () => {
    ctx = await createTestContext();
    orgs = [await createFundedOrg(ctx.services, 1_000_000), await createFundedOrg(ctx.services, 1_000_000), await createFundedOrg(ctx.services, 1_000_000)];
  });
  afterAll(async () => ctx.close());

  it('starts at 0 for a new wallet, and raises rather than go negative', async () => {
    const fresh = await createFundedOrg(ctx.services, 500);
    expect((await ctx.pool.query('select held from call_hold_totals where org_id = $1', [fresh])).rows).toEqual([{ held: 0 }]);
    const client = await ctx.pool.connect();
    try {
      await client.query('begin');
      await client.query("insert into calls (call_id, org_id, hold_amount, max_duration_seconds, hold_expires_at, admitted_path) values ('neg-1', $1, 300, 60, now() + interval '1 hour', 'cache')", [fresh]);
      expect((await client.query('select held from call_hold_totals where org_id = $1', [fresh])).rows).toEqual([{ held: 300 }]);
      // Only a total that does not match its rows could go below zero: force one, and see it refused.
      await client.query('update call_hold_totals set held = 100 where org_id = $1', [fresh]);
      await expect(client.query("update calls set hold_state = 'released', released_at = now() where call_id = 'neg-1'")).rejects.toThrow(/call_hold_totals_held_check/);
    } finally {
      await client.query('rollback');
      client.release();
    }
  });

  it('equals the sum over the rows after generated sequences of statements and hold functions', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 25 }), async (ops) => {
        const prefix = `tot-${run++}-`;
        const id = (c: number) => `${prefix}${c}`;
        const client = await ctx.pool.connect();
        const nowIso = new Date(BASE_MS).toISOString();
        const mine = `${prefix}%`;
        let open = false;
        try {
          for (const o of ops) {
            if (!open) {
              await client.query('begin');
              open = true;
            }
            // Each step in its own savepoint: a step a constraint refuses is undone alone.
            await client.query('savepoint step');
            try {
              await step(client, o, id, nowIso);
              await client.query('release savepoint step');
            } catch {
              await client.query('rollback to savepoint step');
            }
            expect(await drift(client, orgs, nowIso)).toEqual([]);
            if (o.kind === 'commit') {
              await client.query('commit');
              open = false;
            }
          }
          if (open) await client.query('commit');
          expect(await drift(ctx.pool, orgs, nowIso)).toEqual([]);
          // At other moments too: before everything expires, and after.
          expect(await drift(ctx.pool, orgs, new Date(BASE_MS - 3_600_000).toISOString())).toEqual([]);
          expect(await drift(ctx.pool, orgs, new Date(BASE_MS + 7_200_000).toISOString())).toEqual([]);
        } finally {
          if (open) await client.query('rollback').catch(() => undefined);
          // Clean up through the same triggers, checked once more.
          await client.query('delete from calls where call_id like $1', [mine]);
          client.release();
        }
        expect(await drift(ctx.pool, orgs, nowIso)).toEqual([]);
      }),
      { numRuns: 60, seed: 20261201 },
    );

    async function step(client: PoolClient, o: Op, id: (c: number) => string, nowIso: string): Promise<void> {
      const at = (s: number) => new Date(BASE_MS + s * 1000).toISOString();
      switch (o.kind) {
        case 'insert':
          await client.query(
            `insert into calls (call_id, org_id, hold_amount, max_duration_seconds, hold_expires_at, admitted_path, hold_state, released_at)
             values ($1, $2, $3, 60, $4, 'cache', $5, case when $5 = 'released' then now() end)`,
            [id(o.call), orgs[o.org], o.amount, at(o.expiresInS), o.held ? 'held' : 'released'],
          );
          return;
        case 'amount':
          await client.query('update calls set hold_amount = $2 where call_id = $1', [id(o.call), o.amount]);
          return;
        case 'state':
          await client.query("update calls set hold_state = $2, released_at = case when $2 = 'released' then now() end where call_id = $1", [id(o.call), o.held ? 'held' : 'released']);
          return;
        case 'move':
          await client.query('update calls set org_id = $2 where call_id = $1', [id(o.call), orgs[o.org]]);
          return;
        case 'releaseAll':
          await client.query("update calls set hold_state = 'released', released_at = now() where org_id = $1 and hold_state = 'held' and call_id like $2", [orgs[o.org], `${id(0).slice(0, -1)}%`]);
          return;
        case 'delete':
          await client.query('delete from calls where call_id = $1', [id(o.call)]);
          return;
        case 'admit':
          await client.query('select call_gate_admit_batch($1::jsonb, $2, $3, $4, $5, $6, $7, $8, 120)', [
            JSON.stringify(o.orgs.map((g, i) => ({ org_id: orgs[g], call_id: id((o.call + i) % 10), now: nowIso }))),
            ...TERMS,
            'metered',
          ]);
          return;
        case 'record': {
          const holds: object[] = o.holds.map((h) => holdRecord(id(h.call), orgs[h.org]!, h.slices, BASE_MS + h.expiresInS * 1000));
          // A hold the calls CHECK refuses sends the batch one hold at a time.
          if (o.poison) holds.push(holdRecord('p'.repeat(201), orgs[0]!, 1, BASE_MS + 600_000));
          await client.query('select call_gate_record_holds($1::jsonb)', [JSON.stringify(holds)]);
          return;
        }
        case 'release':
          await client.query("select call_hold_release($1, 'test')", [id(o.call)]);
          return;
        case 'cancel':
          await client.query('select call_gate_cancel_hold($1)', [id(o.call)]);
          return;
        case 'notFound':
          await client.query('select call_settle_not_found($1)', [id(o.call)]);
          return;
        case 'commit':
          return;
      }
    }
  });

  it('never deadlocks with the single-call changes racing hold batches written one hold at a time, and stays exact', async () => {
    const [a, b] = [orgs[0]!, orgs[1]!];
    const ids = Array.from({ length: 12 }, (_, i) => `race-${i}`);
    // Every call exists and is held before the race.
    await ctx.pool.query('select call_gate_record_holds($1::jsonb)', [JSON.stringify(ids.map((c, i) => holdRecord(c, i % 2 === 0 ? a : b, 1, BASE_MS + 3_600_000)))]);
    const work: Array<Promise<unknown>> = [];
    for (let round = 0; round < 30; round++) {
      const order = round % 2 === 0 ? ids : [...ids].reverse();
      // Hold-at-a-time batches (a poisoned hold) advancing every call of both organisations…
      work.push(
        ctx.pool.query('select call_gate_record_holds($1::jsonb)', [
          JSON.stringify([...order.map((c) => holdRecord(c, ids.indexOf(c) % 2 === 0 ? a : b, round + 2, BASE_MS + 3_600_000)), holdRecord('p'.repeat(201), a, 1, BASE_MS)]),
        ]),
      );
      // …against the single-call changes on the same calls, and admissions on the same wallets.
      const c = ids[(round * 5) % ids.length]!;
      work.push(ctx.pool.query("select call_hold_release($1, 'race')", [c]));
      work.push(ctx.pool.query('select call_settle_not_found($1)', [ids[(round * 7 + 3) % ids.length]]));
      work.push(ctx.pool.query('select call_gate_cancel_hold($1)', [ids[(round * 3 + 1) % ids.length]]));
      work.push(
        ctx.pool.query('select call_gate_admit_batch($1::jsonb, $2, $3, $4, $5, $6, $7, $8, 120)', [
          JSON.stringify([{ org_id: a, call_id: `race-admit-a-${round}` }, { org_id: b, call_id: `race-admit-b-${round}` }]),
          ...TERMS,
          'metered',
        ]),
      );
    }
    const results = await Promise.allSettled(work);
    expect(results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
    expect(await drift(ctx.pool, orgs, new Date().toISOString())).toEqual([]);
  });
});
