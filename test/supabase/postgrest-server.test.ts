// Proves the PostgREST stand-in behaves like Supabase's Data API where our supabase-js adapter
// depends on it, so that the contract suite run "via supabase-js" means something: concurrent RPCs
// reach Postgres as parallel transactions, int8 comes back as JSON numbers, and errors carry
// PostgREST's status and {code, details, hint, message} shape for each SQLSTATE and auth failure.
import { createFundedOrg, createTestContext, TEST_JWT_SECRET, type TestContext } from '../support/context';
import { expectLedgerConsistent } from '../support/invariants';
import { dashboardToken } from '../support/jwt';
import { apiKey, startPostgrestServer, statusForSqlState, type PostgrestServer } from '../support/postgrest-server';
import { supabaseRpc } from '../../shared/db/rpc';
import { createLedgerStore } from '../../shared/ledger/ledger-store';

const POOL = 20;

describe('PostgREST-compatible test server', () => {
  let ctx: TestContext;
  let server: PostgrestServer;

  beforeAll(async () => {
    ctx = await createTestContext();
    server = await startPostgrestServer({ databaseUrl: ctx.databaseUrl, jwtSecret: TEST_JWT_SECRET, poolSize: POOL });
  });
  afterEach(async () => expectLedgerConsistent(ctx.pool));
  afterAll(async () => {
    await server.close();
    await ctx.close();
  });

  const rpc = (fn: string, body: unknown, headers: Record<string, string>) =>
    fetch(`${server.url}/rest/v1/rpc/${fn}`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const asService = () => ({ apikey: server.keys.serviceRole, Authorization: `Bearer ${server.keys.serviceRole}` });

  it('runs concurrent supabase-js calls as parallel transactions in Postgres', async () => {
    const orgId = await createFundedOrg(ctx.services, 1000);
    const store = createLedgerStore(supabaseRpc(server.url, server.keys.serviceRole));
    const before = server.concurrency.max;
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => store.debitForPurchase({ orgId, amount: 10, idempotencyKey: `par-${i}`, reference: 'r' })),
    );
    expect(results.filter((r) => r.outcome === 'debited')).toHaveLength(100);
    // The transactions queue on the wallet row lock inside Postgres, not in front of it.
    expect(server.concurrency.max).toBeGreaterThanOrEqual(POOL / 2);
    expect(server.concurrency.max).toBeGreaterThan(before);
    expect(server.concurrency.inFlight).toBe(0);
  });

  it('returns int8 values as JSON numbers, exactly as Postgres renders them', async () => {
    const orgId = await createFundedOrg(ctx.services, 99_999_999);
    const res = await rpc('wallet_get', { p_org_id: orgId }, asService());
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(/"balance": ?99999999\b/);
    expect(JSON.parse(text)).toMatchObject({ outcome: 'found', balance: 99_999_999, version: 1 });
  });

  it('answers a missing or a foreign API key as Supabase’s gateway does (401)', async () => {
    const none = await rpc('wallet_get', { p_org_id: '00000000-0000-0000-0000-000000000000' }, {});
    expect(none.status).toBe(401);
    expect(await none.json()).toEqual({ message: 'No API key found in request' });
    const foreign = await apiKey('another-project-secret-0123456789abcdef', 'service_role');
    const bad = await rpc('wallet_get', { p_org_id: '00000000-0000-0000-0000-000000000000' }, { apikey: foreign, Authorization: `Bearer ${foreign}` });
    expect(bad.status).toBe(401);
    expect(await bad.json()).toEqual({ message: 'Invalid API key' });
  });

  it('refuses an expired or wrongly signed bearer token with 401 PGRST301', async () => {
    const expired = await apiKey(TEST_JWT_SECRET, 'service_role', { expiresIn: '-1m' });
    const forged = await apiKey('another-project-secret-0123456789abcdef', 'service_role');
    for (const token of [expired, forged]) {
      const res = await rpc('wallet_get', { p_org_id: '00000000-0000-0000-0000-000000000000' }, { apikey: server.keys.anon, Authorization: `Bearer ${token}` });
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ code: 'PGRST301', details: null, hint: null, message: expect.any(String) });
    }
  });

  it('refuses a money function to anon with 401 and to an authenticated user with 403 (42501)', async () => {
    const orgId = await createFundedOrg(ctx.services, 100);
    const args = { p_org_id: orgId, p_amount: 1_000_000, p_idempotency_key: 'mint', p_fingerprint: 'f'.repeat(64), p_reason: 'free money' };
    const anon = await rpc('wallet_credit', args, { apikey: server.keys.anon, Authorization: `Bearer ${server.keys.anon}` });
    expect(anon.status).toBe(401);
    expect(await anon.json()).toEqual({ code: '42501', details: null, hint: null, message: 'permission denied for function wallet_credit' });
    const user = await dashboardToken(TEST_JWT_SECRET, orgId);
    const authed = await rpc('wallet_credit', args, { apikey: server.keys.anon, Authorization: `Bearer ${user}` });
    expect(authed.status).toBe(403);
    expect(((await authed.json()) as { code: string }).code).toBe('42501');
    expect((await ctx.services.store.getWallet(orgId))?.balance).toBe(100);
  });

  it('answers an unknown function or unknown argument names with 404 PGRST202', async () => {
    for (const [fn, body] of [
      ['wallet_mint', { p_org_id: '00000000-0000-0000-0000-000000000000' }],
      ['wallet_get', { p_org: '00000000-0000-0000-0000-000000000000' }],
    ] as const) {
      const res = await rpc(fn, body, asService());
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ code: 'PGRST202', message: expect.stringContaining(fn) });
    }
  });

  it('maps a raised 22023, a bad argument type and malformed JSON to 400 with the PostgREST shape', async () => {
    const orgId = await createFundedOrg(ctx.services, 0);
    const range = await rpc('wallet_credit', { p_org_id: orgId, p_amount: -5, p_idempotency_key: 'k', p_fingerprint: 'f'.repeat(64), p_reason: 'x' }, asService());
    expect(range.status).toBe(400);
    expect(await range.json()).toEqual({ code: '22023', details: null, hint: null, message: expect.stringContaining('out of range') });
    const type = await rpc('wallet_credit', { p_org_id: orgId, p_amount: 1.5, p_idempotency_key: 'k', p_fingerprint: 'f'.repeat(64), p_reason: 'x' }, asService());
    expect(type.status).toBe(400);
    expect(((await type.json()) as { code: string }).code).toBe('22P02');
    const json = await rpc('wallet_get', '{"p_org_id":', asService());
    expect(json.status).toBe(400);
    expect(((await json.json()) as { code: string }).code).toBe('PGRST102');
    expect((await ctx.services.store.getWallet(orgId))?.balance).toBe(0);
  });

  it('uses PostgREST’s SQLSTATE to status table', () => {
    expect(statusForSqlState('42501', false)).toBe(401);
    expect(statusForSqlState('42501', true)).toBe(403);
    expect(statusForSqlState('42883', true)).toBe(404);
    expect(statusForSqlState('23505', true)).toBe(409);
    expect(statusForSqlState('23503', true)).toBe(409);
    expect(statusForSqlState('23514', true)).toBe(400);
    expect(statusForSqlState('P0001', true)).toBe(400);
    expect(statusForSqlState('P0002', true)).toBe(500);
    expect(statusForSqlState('22023', true)).toBe(400);
    expect(statusForSqlState('08006', true)).toBe(503);
    expect(statusForSqlState('40001', true)).toBe(500);
    expect(statusForSqlState('XX000', true)).toBe(500);
    expect(statusForSqlState('PT402', true)).toBe(402);
  });
});
