// Proves that recording a batch of Redis-path holds (call_gate_record_holds, one batch per 5 ms
// under load) and a call's "ended" (call_hold_end) find their organisation's wallet by its primary
// key, not by reading every wallet: with 300 organisations, each reads a few wallet and
// organisation rows (counted by Postgres in pg_stat_user_tables), not 300. They used to compare
// `org_id::text`, which no index serves. A malformed org id in a batch still fails only its hold.
import type { PoolClient } from 'pg';
import { createFundedOrg, createTestContext, type TestContext } from '../support/context';
import { meteredHold } from '../support/holds';

describe('hold records and ends look wallets up by key', () => {
  let ctx: TestContext;
  let client: PoolClient;
  let orgId: string;
  beforeAll(async () => {
    ctx = await createTestContext();
    orgId = await createFundedOrg(ctx.services, 10_000);
    await ctx.pool.query("select org_create('bystander ' || g, gen_random_uuid(), 'gbp') from generate_series(1, 300) g");
    await ctx.pool.query('analyze wallets; analyze organizations');
    // One connection for the calls and the counters: a backend's own counts are flushed on demand.
    client = await ctx.pool.connect();
    // At 300 rows the planner may rightly prefer a sequential scan; what is proven is that the
    // lookup *can* use the primary key (with 100,000 organisations the planner takes it). The old
    // `org_id::text` comparison read every row even so.
    await client.query('set enable_seqscan = off');
  });
  afterAll(async () => {
    await client.query('reset enable_seqscan');
    client.release();
    await ctx.close();
  });

  /** Rows of wallets and organizations read so far, by sequential and index scans. */
  async function rowsRead(): Promise<number> {
    await client.query('select pg_stat_force_next_flush()');
    await client.query('select pg_stat_clear_snapshot()');
    const r = await client.query<{ n: string }>(
      "select sum(coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)) n from pg_stat_user_tables where relname in ('wallets', 'organizations')",
    );
    return Number(r.rows[0]?.n ?? 0);
  }

  it('records a batch of holds reading a few rows, not every wallet; a malformed org id fails only its hold', async () => {
    const before = await rowsRead();
    const r = await client.query<{ r: { recorded: number; rejected: number } }>('select call_gate_record_holds($1::jsonb) as r', [
      JSON.stringify([meteredHold('by-key-1', orgId), meteredHold('by-key-2', 'not-a-uuid'), meteredHold('by-key-3', orgId)]),
    ]);
    const read = (await rowsRead()) - before;
    expect(r.rows[0]?.r).toMatchObject({ recorded: 2, rejected: 1 });
    expect(read).toBeLessThan(20);
  });

  it('ends a call reading a few rows, not every wallet', async () => {
    const before = await rowsRead();
    const r = await client.query<{ r: { outcome: string } }>('select call_hold_end($1, 56, 30, null) as r', ['by-key-1']);
    const read = (await rowsRead()) - before;
    expect(r.rows[0]?.r.outcome).toBe('ended');
    expect(read).toBeLessThan(20);
  });
});
