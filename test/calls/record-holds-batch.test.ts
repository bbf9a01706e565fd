// Proves call_gate_record_holds' two ways of writing a batch (migrations 20261201000500, 0600):
// - a batch nothing in which raises is written by one statement (call_holds_upsert once);
// - either way, a hold naming no organisation is rejected unless its call already has a row (a
//   replay: nothing new to write), the rule both ways take from call_holds_upsert's answer;
// - the one-statement way and the hold-at-a-time way (taken when any hold raises) leave the same
//   rows and report the same counts and rejected ids, on generated batches (fast-check, seeded):
//   new holds, replays, advanced slices, ended calls, settled rows, repeated call ids (always one
//   at a time), unknown, malformed and missing organisations. The hold-at-a-time way is forced by
//   adding one hold the calls CHECK refuses (a call id of 201 characters), which must then be the
//   only difference (rejected ids are reported cut to 200 characters).
import fc from 'fast-check';
import type { PoolClient } from 'pg';
import { createFundedOrg, createTestContext, type TestContext } from '../support/context';
import { meteredHold, type RecordedHold } from '../support/holds';

interface Recorded {
  recorded: number;
  updated: number;
  rejected: number;
  rejected_call_ids: string[];
}
type Hold = RecordedHold;

const BASE_MS = Date.UTC(2026, 11, 1, 12, 0, 0);
const POISON = 'p'.repeat(201);

describe('call_gate_record_holds: one statement, or one hold at a time', () => {
  let ctx: TestContext;
  let client: PoolClient;
  let orgs: string[];
  beforeAll(async () => {
    ctx = await createTestContext();
    orgs = [await createFundedOrg(ctx.services, 10_000), await createFundedOrg(ctx.services, 10_000)];
    client = await ctx.pool.connect();
  });
  afterAll(async () => {
    client.release();
    await ctx.close();
  });

  const hold = (callId: string, orgId: unknown, slices = 1, endedAtMs: number | null = null): Hold => meteredHold(callId, orgId, { nowMs: BASE_MS, slices, endedAtMs });

  const record = async (holds: Hold[]): Promise<Recorded> => (await client.query<{ r: Recorded }>('select call_gate_record_holds($1::jsonb) as r', [JSON.stringify(holds)])).rows[0]!.r;
  const rows = async (prefix: string) =>
    (
      await client.query(
        `select call_id, org_id, hold_amount, slices, held_seconds, ended_at, hold_state, settled_at is not null as settled
           from calls where call_id like $1 order by call_id`,
        [`${prefix}%`],
      )
    ).rows;
  const upsertCalls = async () => Number((await client.query<{ n: string }>("select pg_stat_get_xact_function_calls('call_holds_upsert'::regproc) as n")).rows[0]!.n ?? 0);

  it('writes a batch nothing in which raises in one statement, and a batch with a bad hold one hold at a time', async () => {
    await client.query('begin');
    try {
      await client.query("set local track_functions = 'all'");
      const clean = Array.from({ length: 40 }, (_, i) => hold(`one-stmt-${i}`, orgs[i % 2]));
      expect(await record(clean)).toEqual({ recorded: 40, updated: 0, rejected: 0, rejected_call_ids: [] });
      expect(await upsertCalls()).toBe(1);
      const withBad = [...Array.from({ length: 5 }, (_, i) => hold(`one-at-a-time-${i}`, orgs[0])), hold(POISON, orgs[0])];
      expect(await record(withBad)).toEqual({ recorded: 5, updated: 0, rejected: 1, rejected_call_ids: [POISON.slice(0, 200)] });
      // One per hold that was written (Postgres does not count a call whose subtransaction rolled
      // back: the batch's statement, the bad hold's).
      expect(await upsertCalls()).toBe(1 + 5);
    } finally {
      await client.query('rollback');
    }
  });

  // A generated batch: holds over a few call ids, some of which exist before the batch.
  const callKinds = fc.record({
    org: fc.constantFrom<'a' | 'b' | 'unknown' | 'malformed' | 'null'>('a', 'b', 'a', 'b', 'unknown', 'malformed', 'null'),
    call: fc.integer({ min: 0, max: 15 }),
    slices: fc.integer({ min: 1, max: 3 }),
    ended: fc.boolean(),
  });
  const before = fc.array(fc.record({ call: fc.integer({ min: 0, max: 15 }), slices: fc.integer({ min: 1, max: 2 }), settled: fc.boolean(), org: fc.constantFrom(0, 1) }), { maxLength: 4 });

  it('rejects a hold naming no organisation unless its call already has a row (a replay), either way', async () => {
    await client.query('begin');
    try {
      expect(await record([hold('replayed', orgs[0])])).toMatchObject({ recorded: 1, rejected: 0 });
      const batch = [hold('replayed', 'not-a-uuid'), hold('unknown-org', '00000000-0000-4000-8000-000000000000'), hold('fine', orgs[1])];
      expect(await record(batch)).toEqual({ recorded: 1, updated: 0, rejected: 1, rejected_call_ids: ['unknown-org'] });
      await client.query("delete from calls where call_id = 'fine'");
      expect(await record([...batch, hold(POISON, orgs[0])])).toEqual({ recorded: 1, updated: 0, rejected: 2, rejected_call_ids: ['unknown-org', POISON.slice(0, 200)] });
    } finally {
      await client.query('rollback');
    }
  });

  it('leaves the same rows and reports the same either way, on generated batches', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(before, fc.array(callKinds, { minLength: 1, maxLength: 12 }), async (existing, batch) => {
        const prefix = `gen-${run++}-`;
        const orgOf = (o: string): unknown => (o === 'a' ? orgs[0] : o === 'b' ? orgs[1] : o === 'unknown' ? '00000000-0000-4000-8000-00000000dead' : o === 'malformed' ? 'not-a-uuid' : null);
        const holds = batch.map((k) => hold(`${prefix}${k.call}`, orgOf(k.org), k.slices, k.ended ? BASE_MS + 60_000 : null));
        await client.query('begin');
        try {
          const seen = new Set<number>();
          for (const e of existing) {
            if (seen.has(e.call)) continue;
            seen.add(e.call);
            await record([hold(`${prefix}${e.call}`, orgs[e.org], e.slices)]);
            if (e.settled) await client.query("update calls set settled_at = now(), settled_by = 'sweeper', hold_state = 'released', released_at = now() where call_id = $1", [`${prefix}${e.call}`]);
          }
          await client.query('savepoint s');
          const oneStatement = await record(holds);
          const rowsOne = await rows(prefix);
          await client.query('rollback to savepoint s');
          const oneByOne = await record([...holds, hold(POISON, orgs[0])]);
          const rowsEach = await rows(prefix);
          expect(rowsEach).toEqual(rowsOne);
          expect(oneByOne).toEqual({ ...oneStatement, rejected: oneStatement.rejected + 1, rejected_call_ids: [...oneStatement.rejected_call_ids, POISON.slice(0, 200)].slice(0, 20) });
        } finally {
          await client.query('rollback');
        }
      }),
      { numRuns: 60, seed: 20261201 },
    );
  });
});
