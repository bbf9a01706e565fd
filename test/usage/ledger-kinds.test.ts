// Proves ledger_kinds() is the one complete map of ledger kinds to usage buckets (CONTRACT §12):
// every kind the ledger allows (its ledger_entries_kind_sign constraint, read from the catalogue)
// is listed exactly once, in one of the four buckets, with words for the statement. A new kind
// (phone_number_rent, outbound calls' kinds, …) fails here until it is mapped in
// supabase/schemas/ledger/functions/ledger_kinds.sql.
import { createTestContext, type TestContext } from '../support/context';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(async () => ctx.close());

describe('ledger_kinds()', () => {
  it('maps every kind the ledger allows to one usage bucket, with a description', async () => {
    const constraint = await ctx.pool.query<{ def: string }>("select pg_get_constraintdef(oid) as def from pg_constraint where conname = 'ledger_entries_kind_sign'");
    const allowed = [...new Set([...constraint.rows[0]!.def.matchAll(/kind = '([a-z_]+)'::text/g)].map((m) => m[1]!))].sort();
    expect(allowed).toEqual(expect.arrayContaining(['call', 'phone_number', 'phone_number_refund', 'topup']));
    const kinds = (await ctx.pool.query<{ kind: string; usage_bucket: string; description: string }>('select * from ledger_kinds()')).rows;
    expect(new Set(kinds.map((k) => k.kind)).size).toBe(kinds.length);
    const mapped = new Map(kinds.map((k) => [k.kind, k]));
    for (const kind of allowed) {
      expect(mapped.get(kind)).toEqual({ kind, usage_bucket: expect.stringMatching(/^(calls|numbers|refunds|top_ups)$/), description: expect.stringMatching(/^\S.{2,80}$/) });
    }
  });

  it('puts both ways of paying for a number in numbers, and a purchase refunded in refunds', async () => {
    const buckets = Object.fromEntries((await ctx.pool.query<{ kind: string; usage_bucket: string }>('select kind, usage_bucket from ledger_kinds()')).rows.map((r) => [r.kind, r.usage_bucket]));
    expect(buckets).toMatchObject({ call: 'calls', phone_number: 'numbers', phone_number_rent: 'numbers', phone_number_refund: 'refunds', topup: 'top_ups' });
  });
});
