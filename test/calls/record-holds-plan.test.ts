// Proves that recording a batch of Redis-path holds (call_gate_record_holds) reads `calls` one
// primary-key probe per hold, even on a connection whose cached plans were made while `calls` was
// nearly empty (migration 20261201000600). Found in benchmark a: the count of rejected holds was a
// NOT EXISTS, planned on a new connection as a hash anti-join over a sequential scan of `calls`;
// the plan stayed cached while the table grew, so every batch read every call ever recorded.
// Postgres counts the rows each scan returns (pg_stat_user_tables, flushed on demand): a batch of
// 10 holds must read a few dozen `calls` rows, not the thousands the table holds.
import type { PoolClient } from 'pg';
import { createFundedOrg, createTestContext, type TestContext } from '../support/context';
import { meteredHold } from '../support/holds';

describe('a hold batch reads calls by key, whatever the plan cache saw first', () => {
  let ctx: TestContext;
  let client: PoolClient;
  let orgId: string;
  beforeAll(async () => {
    ctx = await createTestContext();
    orgId = await createFundedOrg(ctx.services, 10_000_000);
    client = await ctx.pool.connect();
  });
  afterAll(async () => {
    client.release();
    await ctx.close();
  });

  const record = async (ids: string[]) =>
    (await client.query<{ r: { recorded: number; rejected: number } }>('select call_gate_record_holds($1::jsonb) as r', [JSON.stringify(ids.map((id) => meteredHold(id, orgId)))])).rows[0]!.r;

  /** Rows of `calls` returned by sequential and index scans so far. */
  async function callsRowsRead(): Promise<number> {
    await client.query('select pg_stat_force_next_flush()');
    await client.query('select pg_stat_clear_snapshot()');
    const r = await client.query<{ n: string }>("select coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) as n from pg_stat_user_tables where relname = 'calls'");
    return Number(r.rows[0]?.n ?? 0);
  }

  it('reads a few rows per batch after the table has grown under cached plans', async () => {
    // A new connection's first batches, while `calls` is small (as after a deploy): plpgsql plans
    // its statements now and keeps them (a generic plan after the fifth run).
    await ctx.pool.query('analyze calls');
    for (let b = 0; b < 8; b++) expect(await record([`early-${b}-a`, `early-${b}-b`])).toMatchObject({ recorded: 2, rejected: 0 });
    // The table grows by thousands of calls (other connections, other hours) with no new analyze.
    await ctx.pool.query(
      `insert into calls (call_id, org_id, hold_amount, max_duration_seconds, hold_expires_at, admitted_path, hold_policy)
       select 'grown-' || g, $1, 112, 600, now() + interval '1 hour', 'cache', 'metered' from generate_series(1, 5000) g`,
      [orgId],
    );
    const before = await callsRowsRead();
    const ids = Array.from({ length: 10 }, (_, i) => `late-${i}`);
    expect(await record(ids)).toMatchObject({ recorded: 10, rejected: 0 });
    const read = (await callsRowsRead()) - before;
    expect(read).toBeLessThan(100);
  });
});
