// Proves, with generated input (fast-check, seeded and bounded), that the dashboard endpoints
// accept only a genuine token and only show its own organisation: tokens signed with another key,
// with alg none or another HMAC size, expired or not yet valid, with a payload swapped under a
// valid signature, or plain garbage all get 401 (never a 5xx); a genuine token of one organisation
// only ever sees that organisation's wallet (failure mode 21); any query string on
// /transactions gets 200 or a 4xx; any alert settings body (thresholds of any count and value,
// webhook URLs of any spelling, internal hosts among them) gets 200 or a 400 that stored nothing;
// and any id in DELETE /api/numbers/:id is a 404 that touches no number (another organisation's
// included) — never a 5xx. Nothing of it moves money.
import fc from 'fast-check';
import { SignJWT } from 'jose';
import { createFundedOrg, createTestContext, TEST_JWT_SECRET, type TestContext } from '../support/context';
import { anyText, badAmount, expectClientError, expectHandled, fuzzParams, headerText, ledgerState, listen, type FuzzServer } from '../support/fuzz';
import { expectLedgerConsistent } from '../support/invariants';
import { dashboardToken } from '../support/jwt';

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

describe('fuzzing the dashboard endpoints', () => {
  let ctx: TestContext;
  let server: FuzzServer;
  const orgs: Array<{ id: string; balance: number }> = [];

  beforeAll(async () => {
    // This file sends hundreds of failed authentications from one address on purpose; the
    // limiter that would throttle them has its own tests (test/security/rate-limit.test.ts).
    ctx = await createTestContext({ AUTH_FAILURES_PER_MINUTE: '100000' });
    server = await listen(ctx);
    for (const balance of [0, 1234, 98765]) orgs.push({ id: await createFundedOrg(ctx.services, balance), balance });
  });
  afterEach(async () => expectLedgerConsistent(ctx.pool));
  afterAll(async () => {
    await server.close();
    await ctx.close();
  });

  const org = fc.integer({ min: 0, max: 2 }).map((i) => orgs[i]!);

  /** A token the service must refuse, built from generated parts. */
  const forgedToken = fc.oneof(
    // Signed with some other key.
    fc.tuple(org, fc.string({ minLength: 1, maxLength: 64 }).filter((k) => k !== TEST_JWT_SECRET)).map(([o, key]) =>
      new SignJWT({ role: 'authenticated', app_metadata: { org_id: o.id } }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('10m').sign(new TextEncoder().encode(key)),
    ),
    // The right key, but an algorithm the service does not accept.
    fc.tuple(org, fc.constantFrom('HS384', 'HS512')).map(([o, alg]) =>
      new SignJWT({ role: 'authenticated', app_metadata: { org_id: o.id } }).setProtectedHeader({ alg }).setExpirationTime('10m').sign(new TextEncoder().encode(TEST_JWT_SECRET)),
    ),
    // Expired, or not valid yet.
    fc.tuple(org, fc.integer({ min: 1, max: 10_000_000 }), fc.boolean()).map(([o, secs, past]) => {
      const now = Math.floor(Date.now() / 1000);
      const jwt = new SignJWT({ role: 'authenticated', app_metadata: { org_id: o.id } }).setProtectedHeader({ alg: 'HS256' });
      if (past) jwt.setExpirationTime(now - secs);
      else jwt.setNotBefore(now + 60 + secs).setExpirationTime(now + 120 + 2 * secs);
      return jwt.sign(new TextEncoder().encode(TEST_JWT_SECRET));
    }),
    // alg none, with and without a signature part.
    fc.tuple(org, fc.constantFrom('none', 'None', 'NONE'), fc.boolean()).map(async ([o, alg, sig]) => `${b64({ alg, typ: 'JWT' })}.${b64({ app_metadata: { org_id: o.id }, exp: Math.floor(Date.now() / 1000) + 600 })}.${sig ? 'x' : ''}`),
    // A genuine token of one organisation with its payload swapped for another's.
    fc.tuple(org, org).filter(([a, b]) => a.id !== b.id).map(async ([a, b]) => {
      const [h, , s] = (await dashboardToken(TEST_JWT_SECRET, a.id)).split('.');
      return `${h}.${b64({ role: 'authenticated', sub: 'user-1', app_metadata: { org_id: b.id }, exp: Math.floor(Date.now() / 1000) + 600 })}.${s}`;
    }),
    // Garbage.
    headerText(200).map(async (t) => t),
  );

  it('refuses every forged, expired or malformed token with 401', async () => {
    const before = await ledgerState(ctx.pool);
    await fc.assert(
      fc.asyncProperty(forgedToken, fc.constantFrom('/api/wallet', '/api/wallet/transactions', '/api/numbers'), fc.boolean(), async (pending, path, bearer) => {
        const token = await pending;
        const r = await server.send('GET', path, { headers: token === '' && !bearer ? {} : { Authorization: bearer ? `Bearer ${token}` : token } });
        expectClientError(r, `${path} with ${token.slice(0, 60)}`);
        expect(r.status).toBe(401);
      }),
      fuzzParams(),
    );
    expect(await ledgerState(ctx.pool)).toEqual(before);
  });

  it('shows a genuine token only its own organisation’s wallet', async () => {
    await fc.assert(
      fc.asyncProperty(org, async (o) => {
        const token = await dashboardToken(TEST_JWT_SECRET, o.id);
        const w = await server.send('GET', '/api/wallet', { headers: { Authorization: `Bearer ${token}` } });
        expect(w.status).toBe(200);
        expect(w.json).toMatchObject({ orgId: o.id, balance: o.balance });
        const t = await server.send('GET', '/api/wallet/transactions', { headers: { Authorization: `Bearer ${token}` } });
        const items = (t.json as { items: Array<{ amount: number }> }).items;
        expect(items.reduce((sum, e) => sum + e.amount, 0)).toBe(o.balance);
      }),
      fuzzParams(20),
    );
  });

  it('answers any query string on /transactions with 200 or a 4xx', async () => {
    const token = await dashboardToken(TEST_JWT_SECRET, orgs[2]!.id);
    const value = fc.oneof(anyText(30), fc.integer().map(String), fc.double().map(String), fc.constantFrom('0', '-1', '201', '1e2', '', '%', '%ZZ', 'MQ', 'AAAA', '__proto__'));
    const query = fc.dictionary(fc.oneof(fc.constantFrom('limit', 'cursor', 'limit[]', 'cursor[x]', '__proto__'), anyText(10)), value, { maxKeys: 4 });
    await fc.assert(
      fc.asyncProperty(query, fc.boolean(), async (q, raw) => {
        const qs = raw
          ? Object.entries(q).map(([k, v]) => `${k}=${v}`.replace(/[\s#]/g, '')).join('&')
          : new URLSearchParams(Object.entries(q).map(([k, v]): [string, string] => [k, v.replace(/[\uD800-\uDFFF]/g, 'x')])).toString();
        const r = await server.send('GET', `/api/wallet/transactions?${qs}`, { headers: { Authorization: `Bearer ${token}` } });
        expectHandled(r, `?${qs.slice(0, 100)}`);
        expect([200, 400]).toContain(r.status);
      }),
      fuzzParams(),
    );
  });

  it('answers any alert settings with 200 or a 400 that stores nothing', async () => {
    const o = orgs[1]!;
    const token = await dashboardToken(TEST_JWT_SECRET, o.id);
    const settings = async () => (await ctx.pool.query('select alert_thresholds, alerts_low, webhook_url, signing_secret, updated_at from wallet_money_settings where org_id = $1', [o.id])).rows[0] ?? null;
    const host = fc.oneof(
      fc.domain(),
      fc.ipV4(),
      fc.ipV4Extended(),
      fc.ipV6().map((a) => `[${a}]`),
      fc.constantFrom('localhost', '10.0.0.5', '169.254.169.254', '0x7f.1', '2130706433', '017700000001', '0', '[::1]', '[::ffff:10.0.0.5]', '[fd00:ec2::254]', '[fe80::1]', '[::]', '0.0.0.0'),
    );
    const url = fc.oneof(
      fc.tuple(fc.constantFrom('https', 'http', 'ftp', 'HTTPS', 'javascript'), host, fc.webPath()).map(([scheme, h, path]) => `${scheme}://${h}${path}`),
      fc.webUrl({ withQueryParameters: true, withFragments: true }),
      anyText(80),
      fc.constantFrom('', 'https//example.com', 'https://', 'https://exa mple.com/', 'https://example.com/\u0000', null, 1, {}, []),
    );
    const threshold = fc.oneof(fc.integer({ min: 0, max: 100_000_000 }), badAmount);
    const body = fc.record({ thresholds: fc.oneof(fc.array(threshold, { maxLength: 8 }), badAmount), webhookUrl: url }, { requiredKeys: [] });
    await fc.assert(
      fc.asyncProperty(body, async (b) => {
        const before = await settings();
        const r = await server.send('PUT', '/api/wallet/alerts', { headers: { Authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(b) });
        expectHandled(r, `PUT /api/wallet/alerts ${JSON.stringify(b).slice(0, 200)}`);
        expect([200, 400]).toContain(r.status);
        if (r.status === 400) expect(await settings()).toEqual(before);
      }),
      fuzzParams(),
    );
  });

  it('answers any number id on DELETE /api/numbers/:id with a 404 and releases nothing, another organisation\'s number included', async () => {
    const token = await dashboardToken(TEST_JWT_SECRET, orgs[0]!.id);
    // Another organisation's rented number, as a purchase leaves it (no provider is called for a 404).
    const theirs = await ctx.pool.query<{ id: string }>(
      `insert into phone_numbers (org_id, e164, source, status, rent_anchor, paid_months, paid_until)
       values ($1, '+14155550177', 'provisioned', 'active', now(), 1, now() + interval '1 month') returning id`,
      [orgs[1]!.id],
    );
    const id = fc.oneof(fc.constant(theirs.rows[0]!.id), fc.uuid(), anyText(40).map((t) => encodeURIComponent(t)), fc.constantFrom('%', '%ZZ', '..', '__proto__', `${theirs.rows[0]!.id}%00`));
    await fc.assert(
      fc.asyncProperty(id, async (seg) => {
        const r = await server.send('DELETE', `/api/numbers/${seg}`, { headers: { Authorization: `Bearer ${token}` } });
        expectHandled(r, `DELETE /api/numbers/${seg.slice(0, 80)}`);
        expect([400, 404]).toContain(r.status);
      }),
      fuzzParams(),
    );
    expect((await ctx.pool.query('select status from phone_numbers where id = $1', [theirs.rows[0]!.id])).rows[0]).toEqual({ status: 'active' });
  });
});
