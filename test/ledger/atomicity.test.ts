// Proves that a money movement and its records are one atomic unit (failure modes 2 and 9): a
// fault injected into the ledger insert — after the balance update, before "done" is recorded —
// leaves the balance, the ledger and the idempotency record all untouched, and the client's retry
// with the same key then applies the top-up exactly once. The fault is a real trigger in this
// test's own database, so the real SQL functions run unmodified.
import request from 'supertest';
import { createTestContext, TEST_ADMIN_TOKEN, type TestContext } from '../support/context';
import { expectLedgerConsistent } from '../support/invariants';

const admin = { Authorization: `Bearer ${TEST_ADMIN_TOKEN}` };

describe('atomicity of a money movement', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext();
    await ctx.pool.query(`
      -- A sequence, because nextval survives the rollback the fault causes: the fault fires once.
      create sequence injected_fault_count;
      create function fail_injected_insert() returns trigger language plpgsql as $$
      begin
        if new.reference = 'paid top-up' and nextval('injected_fault_count') = 1 then
          raise exception 'injected fault for %', new.reference;
        end if;
        return new;
      end $$;
      create trigger inject_fault before insert on ledger_entries
        for each row execute function fail_injected_insert();`);
  });
  afterEach(async () => expectLedgerConsistent(ctx.pool));
  afterAll(async () => ctx.close());

  it('rolls back the balance and the idempotency record with a failed entry, and the retry credits once', async () => {
    const org = await request(ctx.app()).post('/api/admin/orgs').set(admin).send({ name: 'Faulty' });
    const orgId = org.body.orgId as string;
    const send = () =>
      request(ctx.app()).post(`/api/admin/orgs/${orgId}/credits`).set(admin).set('Idempotency-Key', 'topup-42').send({ amount: 5000, reason: 'paid top-up' });

    const failed = await send();
    expect(failed.status).toBe(503);
    expect(failed.body.error).toBe('service_unavailable');
    const after = await ctx.pool.query('select balance, version from wallets where org_id = $1', [orgId]);
    expect(after.rows[0]).toEqual({ balance: 0, version: 0 });
    expect((await ctx.pool.query('select count(*)::int as n from idempotency_keys where org_id = $1', [orgId])).rows[0].n).toBe(0);

    const retried = await send();
    expect(retried.status).toBe(201);
    expect(retried.body.balance).toBe(5000);
    const replay = await send();
    expect(replay.body).toEqual(retried.body);
    expect((await ctx.pool.query('select count(*)::int as n from ledger_entries where org_id = $1', [orgId])).rows[0].n).toBe(1);
  });
});
