// Proves ledger_kinds() is the one complete map of ledger kinds to usage buckets (CONTRACT §12):
// every kind the ledger allows (its ledger_entries_kind_sign constraint, read from the catalogue)
// is listed (once: it is an object's key), in one of the four buckets, with words for the statement. A new kind
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
    const kinds = (await ctx.pool.query<{ k: Record<string, unknown> }>('select ledger_kinds() as k')).rows[0]!.k;
    for (const kind of allowed) {
      expect([kind, kinds[kind]]).toEqual([kind, { usage_bucket: expect.stringMatching(/^(calls|numbers|refunds|top_ups)$/), description: expect.stringMatching(/^\S.{2,80}$/) }]);
    }
  });

  it('puts both ways of paying for a number in numbers, and a purchase refunded in refunds', async () => {
    const buckets = Object.fromEntries((await ctx.pool.query<{ kind: string; bucket: string }>("select key as kind, value->>'usage_bucket' as bucket from jsonb_each(ledger_kinds())")).rows.map((r) => [r.kind, r.bucket]));
    expect(buckets).toMatchObject({ call: 'calls', phone_number: 'numbers', phone_number_rent: 'numbers', phone_number_refund: 'refunds', topup: 'top_ups' });
  });
});
