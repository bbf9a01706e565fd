// Proves the whole service works in supabase mode (SUPABASE_URL set, no DATABASE_URL): the Services
// pick the supabase-js adapter from the configuration, and over HTTP an operator creates an
// organisation and tops it up idempotently, and the dashboard reads the wallet and its entries —
// every call reaching the real SQL functions as service_role through the PostgREST stand-in.
import request from 'supertest';
import { TEST_ADMIN_TOKEN, TEST_JWT_SECRET } from '../support/context';
import { expectLedgerConsistent } from '../support/invariants';
import { dashboardToken } from '../support/jwt';
import { createSupabaseTestContext, type SupabaseTestContext } from '../support/supabase-context';

const admin = { Authorization: `Bearer ${TEST_ADMIN_TOKEN}` };

describe('the app in supabase mode', () => {
  let ctx: SupabaseTestContext;
  beforeAll(async () => {
    ctx = await createSupabaseTestContext();
  });
  afterEach(async () => expectLedgerConsistent(ctx.pool));
  afterAll(async () => ctx.close());

  it('builds the supabase-js adapter from SUPABASE_URL when DATABASE_URL is unset', () => {
    expect(ctx.config.data).toEqual({ kind: 'supabase', url: ctx.server.url, serviceRoleKey: ctx.server.keys.serviceRole });
    expect(ctx.services.rpc.kind).toBe('supabase');
  });

  it('tops up a wallet and shows the balance and the entry to the dashboard', async () => {
    const callsBefore = ctx.server.calls.service_role;
    const org = await request(ctx.app()).post('/api/admin/orgs').set(admin).send({ name: 'Supa Org' });
    expect(org.status).toBe(201);
    const orgId = org.body.orgId as string;

    const credit = () => request(ctx.app()).post(`/api/admin/orgs/${orgId}/credits`).set(admin).set('Idempotency-Key', 'sb-topup-1').send({ amount: 4200, reason: 'via supabase' });
    const first = await credit();
    expect(first.status).toBe(201);
    expect(first.body).toEqual({ entryId: expect.any(Number), balance: 4200, currency: 'gbp' });
    const replay = await credit();
    expect(replay.status).toBe(201);
    expect(replay.body).toEqual(first.body);

    const auth = { Authorization: `Bearer ${await dashboardToken(TEST_JWT_SECRET, orgId)}` };
    const wallet = await request(ctx.app()).get('/api/wallet').set(auth);
    expect(wallet.status).toBe(200);
    expect(wallet.body).toEqual({ orgId, currency: 'gbp', balance: 4200, available: 4200, frozen: false, frozenReason: null, updatedAt: expect.any(String) });
    const tx = await request(ctx.app()).get('/api/wallet/transactions').set(auth);
    expect(tx.status).toBe(200);
    expect(tx.body.items).toEqual([
      { id: first.body.entryId, kind: 'topup', amount: 4200, balanceBefore: 0, balanceAfter: 4200, reference: 'via supabase', createdAt: expect.any(String) },
    ]);

    // The work went through the Data API as the service role, and the database agrees.
    expect(ctx.server.calls.service_role).toBeGreaterThan(callsBefore);
    const row = await ctx.pool.query('select balance from wallets where org_id = $1', [orgId]);
    expect(row.rows[0].balance).toBe(4200);
  });

  it('refuses a bad top-up with 400 and records nothing', async () => {
    const org = await request(ctx.app()).post('/api/admin/orgs').set(admin).send({ name: 'Supa Org 2' });
    const orgId = org.body.orgId as string;
    const res = await request(ctx.app()).post(`/api/admin/orgs/${orgId}/credits`).set(admin).set('Idempotency-Key', 'bad').send({ amount: -1, reason: 'x' });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
    const n = await ctx.pool.query('select count(*)::int as n from ledger_entries where org_id = $1', [orgId]);
    expect(n.rows[0].n).toBe(0);
  });

  it('answers a value the database refuses (a NUL character) with 400 through the Data API too', async () => {
    const res = await request(ctx.app()).post('/api/admin/orgs').set(admin).set('Content-Type', 'application/json').send('{"name": "nul\\u0000org"}');
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
  });

  it('reports ready when the Data API and Redis answer', async () => {
    const res = await request(ctx.app()).get('/readyz');
    expect(res.status).toBe(200);
    expect(res.body.checks).toEqual({ postgres: 'ok', redis: 'ok' });
  });
});
