// Proves, with generated input (fast-check, seeded and bounded), that the provisioning endpoints
// refuse every bad request with a 4xx JSON error and never a 5xx, and move no money doing it:
// hostile bodies and bad area codes (400), missing or malformed Idempotency-Keys (400, failure
// mode 7), forged dashboard tokens (401), and well-formed purchases on an empty wallet (402,
// nothing debited, nothing queued). Any status id — unicode, broken encoding, another
// organisation's real request — is a 4xx and never shows that request (failure mode 21).
import fc from 'fast-check';
import { createFundedOrg, createTestContext, TEST_JWT_SECRET, type TestContext } from '../support/context';
import { anyText, badIdempotencyKey, expectClientError, fuzzParams, headerText, hostileBody, ledgerState, listen, type FuzzServer } from '../support/fuzz';
import { expectLedgerConsistent } from '../support/invariants';
import { dashboardToken } from '../support/jwt';

const json = { 'Content-Type': 'application/json' };

function isValidProvision(text: string): boolean {
  try {
    const b = JSON.parse(text) as Record<string, unknown>;
    if (b === null || typeof b !== 'object' || Array.isArray(b)) return false;
    const extra = Object.keys(b).filter((k) => !['areaCode', 'country', 'assistantId'].includes(k));
    return extra.length === 0 && typeof b.areaCode === 'string' && /^[0-9]{3}$/.test(b.areaCode);
  } catch {
    return false;
  }
}

describe('fuzzing the provisioning endpoints', () => {
  let ctx: TestContext;
  let server: FuzzServer;
  let funded: string;
  let empty: string;
  let fundedAuth: Record<string, string>;
  let emptyAuth: Record<string, string>;
  let foreignRequestId: string;

  beforeAll(async () => {
    ctx = await createTestContext({ AUTH_FAILURES_PER_MINUTE: '100000' });
    server = await listen(ctx);
    funded = await createFundedOrg(ctx.services, 50_000, 'Funded');
    empty = await createFundedOrg(ctx.services, 0, 'Empty');
    fundedAuth = { Authorization: `Bearer ${await dashboardToken(TEST_JWT_SECRET, funded)}` };
    emptyAuth = { Authorization: `Bearer ${await dashboardToken(TEST_JWT_SECRET, empty)}` };
    // One real request of the funded organisation, which the other must never see.
    const r = await server.send('POST', '/api/managed-telephony/provision', { headers: { ...fundedAuth, ...json, 'Idempotency-Key': 'real-1' }, body: JSON.stringify({ areaCode: '415' }) });
    expect(r.status).toBe(202);
    foreignRequestId = (r.json as { requestId: string }).requestId;
  });
  afterEach(async () => expectLedgerConsistent(ctx.pool));
  afterAll(async () => {
    await server.close();
    await ctx.close();
  });

  async function unchanged(run: () => Promise<void>): Promise<void> {
    const before = await ledgerState(ctx.pool);
    const requests = await ctx.pool.query('select count(*)::int as n from provisioning_requests');
    await run();
    expect(await ledgerState(ctx.pool)).toEqual(before);
    expect((await ctx.pool.query('select count(*)::int as n from provisioning_requests')).rows[0]).toEqual(requests.rows[0]);
  }
  const provision = (auth: Record<string, string>, key: string | undefined, body: string) =>
    server.send('POST', '/api/managed-telephony/provision', { headers: { ...auth, ...json, ...(key === undefined ? {} : { 'Idempotency-Key': key }) }, body });

  it('refuses hostile bodies and bad fields with a 4xx on a funded wallet', async () => {
    const fields = fc
      .record({ areaCode: fc.oneof(anyText(6), fc.integer().map(String), fc.integer(), fc.constantFrom('41', '4155', ' 415', '41a', '', null, 415)), country: fc.oneof(anyText(4), fc.constantFrom('us', 'USA', 'U', 1)), assistantId: fc.oneof(anyText(300), fc.integer()), extra: fc.anything() }, { requiredKeys: [] })
      .map((o) => JSON.stringify(o));
    await unchanged(() =>
      fc.assert(
        fc.asyncProperty(fc.oneof(hostileBody, fields).filter((b) => !isValidProvision(b)), fc.uuid(), async (body, key) => {
          expectClientError(await provision(fundedAuth, key, body), `provision ${body.slice(0, 80)}`);
        }),
        fuzzParams(),
      ),
    );
  });

  it('refuses a purchase without a usable Idempotency-Key', async () => {
    await unchanged(() =>
      fc.assert(
        fc.asyncProperty(badIdempotencyKey, async (key) => {
          const r = await provision(fundedAuth, key, JSON.stringify({ areaCode: '415' }));
          expectClientError(r, `key ${JSON.stringify(key)?.slice(0, 40)}`);
          expect(r.status).toBe(400);
        }),
        fuzzParams(60),
      ),
    );
  });

  it('answers well-formed purchases on an empty wallet with 402 and debits nothing', async () => {
    const body = fc.record({ areaCode: fc.stringMatching(/^[0-9]{3}$/), country: fc.constantFrom('US', 'GB', 'CA'), assistantId: fc.stringMatching(/^[a-z0-9-]{1,40}$/) }, { requiredKeys: ['areaCode'] });
    await unchanged(() =>
      fc.assert(
        fc.asyncProperty(body, fc.uuid(), async (b, key) => {
          const r = await provision(emptyAuth, key, JSON.stringify(b));
          expectClientError(r, `provision ${JSON.stringify(b)}`);
          expect(r.status).toBe(402);
          expect(r.json).toMatchObject({ error: 'insufficient_funds', balance: 0 });
        }),
        fuzzParams(60),
      ),
    );
  });

  it('refuses forged tokens with 401', async () => {
    const token = fc.oneof(
      headerText(200),
      fc.constantFrom(await dashboardToken('another-secret-0123456789abcdef01234', funded), await dashboardToken(TEST_JWT_SECRET, funded, { expiresIn: '-1m' })),
    );
    await unchanged(() =>
      fc.assert(
        fc.asyncProperty(token, fc.uuid(), async (t, key) => {
          const headers = { Authorization: `Bearer ${t}` };
          const r = await provision(headers, key, JSON.stringify({ areaCode: '415' }));
          expectClientError(r, `provision with ${t.slice(0, 40)}`);
          expect(r.status).toBe(401);
          const s = await server.send('GET', `/api/managed-telephony/provisioning/${foreignRequestId}`, { headers });
          expect(s.status).toBe(401);
        }),
        fuzzParams(60),
      ),
    );
  });

  it('answers any status id with a 4xx, and another organisation’s request with 404', async () => {
    const id = fc.oneof(
      anyText(40).map((s) => encodeURIComponent(s.replace(/[\uD800-\uDFFF]/g, 'x'))),
      fc.uuid(),
      fc.constantFrom('%ZZ', '%E0%A4%A', foreignRequestId, foreignRequestId.toUpperCase(), `${foreignRequestId}x`, ' ', 'null'),
    );
    await fc.assert(
      fc.asyncProperty(id.filter((s) => s !== ''), async (rid) => {
        const r = await server.send('GET', `/api/managed-telephony/provisioning/${rid}`, { headers: emptyAuth });
        expectClientError(r, `status ${rid.slice(0, 40)}`);
        expect(r.text).not.toContain(foreignRequestId);
      }),
      fuzzParams(),
    );
    const foreign = await server.send('GET', `/api/managed-telephony/provisioning/${foreignRequestId}`, { headers: emptyAuth });
    expect([foreign.status, (foreign.json as { error: string }).error]).toEqual([404, 'not_found']);
  });
});
