// No function on the per-call Postgres paths may be a `language sql` function that Postgres cannot
// inline (security definer, or a SET clause: all of ours): each call of one parses, analyses and
// plans its body again. That was 31% of Postgres's CPU in bench b, under call_holds_sum and
// call_hold_json, once per admission (issue 15; migration 20261201000400). plpgsql prepares each
// statement once per session. The paths are followed through the catalog, from the functions the
// gate calls per call, so a helper added to them later is checked too.
import { createTestContext, type TestContext } from '../support/context';

/** What the call gate calls in Postgres per call or per batch of calls. */
const ROOTS = ['call_gate_admit_batch', 'call_gate_record_holds', 'call_hold_end'];

describe('functions on the per-call Postgres paths', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext();
  });
  afterAll(async () => ctx.close());

  it('are never re-planned per call: every one reached from the roots is plpgsql', async () => {
    const rows = await ctx.pool.query<{ proname: string; lanname: string; prosrc: string }>(
      `select p.proname, l.lanname, p.prosrc from pg_proc p join pg_language l on l.oid = p.prolang
        join pg_namespace n on n.oid = p.pronamespace where n.nspname = 'public'`,
    );
    const fns = new Map(rows.rows.map((r) => [r.proname, r]));
    const reached = new Set<string>();
    const queue = [...ROOTS];
    while (queue.length > 0) {
      const name = queue.pop()!;
      if (reached.has(name)) continue;
      reached.add(name);
      const called = fns.get(name)!.prosrc.toLowerCase().matchAll(/\b([a-z_][a-z0-9_]*)\s*\(/g);
      for (const [, fn] of called) if (fns.has(fn!) && !reached.has(fn!)) queue.push(fn!);
    }
    // The walk reaches the helpers that made the difference (a broken walk must not pass).
    expect([...reached]).toEqual(expect.arrayContaining(['call_gate_admit', 'call_holds_sum', 'call_hold_json', 'wallet_money_watch']));
    expect([...reached].filter((f) => fns.get(f)!.lanname === 'sql').sort()).toEqual([]);
  });
});
