// Proves the provisioning state machine in SQL (supabase/migrations/*_provisioning.sql) against a
// real Postgres: transitions are conditional and idempotent, `completed` and `refunded` are never
// left, the table's CHECKs refuse states without their facts, and no function or row is
// reachable by the anon or authenticated roles (failure mode 20).
import { createFundedOrg, createTestContext, type TestContext } from '../support/context';
import { expectLedgerConsistent } from '../support/invariants';

describe('provisioning state machine (SQL)', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext();
  });
  afterEach(async () => expectLedgerConsistent(ctx.pool));
  afterAll(async () => ctx.close());

  const store = () => ctx.services.provisioning;
  async function queued(key: string): Promise<{ orgId: string; id: string }> {
    const orgId = await createFundedOrg(ctx.services, 1000);
    const r = await store().create({ orgId, prices: { gbp: 1000 }, idempotencyKey: key, fingerprint: 'e'.repeat(64), areaCode: '415', country: 'US', assistantId: 'asst', maxAttempts: 3 });
    if (r.outcome !== 'queued') throw new Error('fixture');
    return { orgId, id: r.request.id };
  }
  const number = { phoneNumber: '+14155550123', twilioSid: `PN${'a'.repeat(32)}`, vapiPhoneNumberId: 'vapi-1' };

  it('counts attempts, moves through retrying, and completes once with its phone_numbers row', async () => {
    const { orgId, id } = await queued('sm-happy');
    expect(await store().startAttempt(id)).toMatchObject({ outcome: 'started', request: { status: 'provisioning', attempts: 1 } });
    expect((await store().markRetrying(id, 'Twilio 503')).outcome).toBe('retrying');
    expect((await store().markRetrying(id, 'again')).outcome).toBe('unchanged');
    const second = await store().startAttempt(id);
    expect(second).toMatchObject({ outcome: 'started', request: { status: 'provisioning', attempts: 2, error: 'Twilio 503' } });
    expect(await store().complete(id, number)).toMatchObject({ outcome: 'completed', replayed: false, request: { status: 'completed', phoneNumber: number.phoneNumber, error: null } });
    expect(await store().complete(id, number)).toMatchObject({ outcome: 'completed', replayed: true });
    const rows = await ctx.pool.query('select org_id, source, assistant_id from phone_numbers where e164 = $1', [number.phoneNumber]);
    expect(rows.rows).toEqual([{ org_id: orgId, source: 'provisioned', assistant_id: 'asst' }]);
  });

  it('never leaves completed: no attempt, failure or refund applies to it', async () => {
    const { id } = await queued('sm-completed');
    await store().startAttempt(id);
    await store().complete(id, { ...number, phoneNumber: '+14155550124', vapiPhoneNumberId: 'vapi-2' });
    expect((await store().startAttempt(id)).outcome).toBe('final');
    expect((await store().markFailed(id, 'late failure')).outcome).toBe('final');
    expect((await store().refund(id)).outcome).toBe('not_refundable');
    expect((await store().markRetrying(id, 'late')).outcome).toBe('unchanged');
    const r = await ctx.pool.query('select status, refunded from provisioning_requests where id = $1', [id]);
    expect(r.rows[0]).toEqual({ status: 'completed', refunded: 0 });
  });

  it('never leaves refunded, and never revives a failed request', async () => {
    const { orgId, id } = await queued('sm-refunded');
    await store().startAttempt(id);
    expect((await store().markFailed(id, 'Twilio 21452')).outcome).toBe('failed');
    expect((await store().markFailed(id, 'again')).outcome).toBe('failed');
    expect((await store().startAttempt(id)).outcome).toBe('final');
    expect((await store().complete(id, { ...number, phoneNumber: '+14155550125', vapiPhoneNumberId: 'vapi-3' })).outcome).toBe('final');
    expect(await store().refund(id)).toMatchObject({ outcome: 'refunded', replayed: false, balance: 1000, request: { status: 'refunded', refunded: 1000 } });
    expect(await store().refund(id)).toMatchObject({ outcome: 'refunded', replayed: true });
    expect((await store().markFailed(id, 'late')).outcome).toBe('final');
    expect((await store().startAttempt(id)).outcome).toBe('final');
    const n = await ctx.pool.query("select count(*)::int as n from ledger_entries where org_id = $1 and kind = 'phone_number_refund'", [orgId]);
    expect(n.rows[0].n).toBe(1);
    const numbers = await ctx.pool.query('select count(*)::int as n from phone_numbers where org_id = $1', [orgId]);
    expect(numbers.rows[0].n).toBe(0);
  });

  it('refuses rows whose state lacks its facts (CHECK constraints)', async () => {
    const { id } = await queued('sm-checks');
    await expect(ctx.pool.query("update provisioning_requests set status = 'completed' where id = $1", [id])).rejects.toThrow(/provisioning_completed_has_number/);
    await expect(ctx.pool.query("update provisioning_requests set status = 'refunded' where id = $1", [id])).rejects.toThrow(/provisioning_refund_matches/);
    await expect(ctx.pool.query("update provisioning_requests set refunded = 5 where id = $1", [id])).rejects.toThrow(/provisioning_refund_matches/);
    await expect(ctx.pool.query("update provisioning_requests set status = 'lost' where id = $1", [id])).rejects.toThrow(/check/);
    const debit = await ctx.pool.query('select debit_entry_id from provisioning_requests where id = $1', [id]);
    const other = await queued('sm-checks-2');
    await expect(ctx.pool.query('update provisioning_requests set debit_entry_id = $1 where id = $2', [debit.rows[0].debit_entry_id, other.id])).rejects.toThrow(/unique/);
  });

  it('refuses a non-positive price in SQL too', async () => {
    const orgId = await createFundedOrg(ctx.services, 1000);
    await expect(store().create({ orgId, prices: { gbp: 0 }, idempotencyKey: 'free', fingerprint: 'e'.repeat(64), areaCode: '415', country: 'US', assistantId: undefined, maxAttempts: 3 })).rejects.toThrow(/price/);
  });

  it.each(['anon', 'authenticated'])('denies the %s role every provisioning function and the table', async (role) => {
    const client = await ctx.pool.connect();
    try {
      await client.query('begin');
      await client.query(`set local role ${role}`);
      for (const call of [
        "select provision_request_create('00000000-0000-4000-8000-000000000000', '{\"gbp\": 1}'::jsonb, 'k', repeat('a', 64), '415', 'US', null, 5)",
        "select provision_request_refund('00000000-0000-4000-8000-000000000000')",
        "select provision_request_get('00000000-0000-4000-8000-000000000000', '00000000-0000-4000-8000-000000000000')",
        'select provision_sweep_candidates(now(), 10, 10, null, null)',
        "select provision_sweep_defer('00000000-0000-4000-8000-000000000000', now())",
        "select provision_request_note_import('00000000-0000-4000-8000-000000000000', 'x')",
        "select provision_reconcile_lookup(array['00000000-0000-4000-8000-000000000000']::uuid[])",
        'select * from provisioning_requests',
      ]) {
        await client.query('savepoint s');
        await expect(client.query(call)).rejects.toThrow(/permission denied/);
        await client.query('rollback to savepoint s');
      }
    } finally {
      await client.query('rollback');
      client.release();
    }
  });
});
