// Proves how the Vapi client reads Vapi's lists, which have no page token (a page of at most
// `limit`, moved along by createdAt bounds): calls that share a createdAt across a page boundary
// are neither missed nor repeated, a visitor that found what it looks for ends the listing there,
// the caller's createdAt window holds on every page (a page's bound only narrows it), in Vapi's
// newest-first order and in the oldest-first order its spec leaves open, and a listing that cannot
// be read whole — past its page limit, or a full page sharing one createdAt — fails rather than
// answering part of it. Pages of 4 against the project's Vapi simulators over real HTTP (and, for
// the oldest-first order, a small server listing by the simulators' own rules).
import { randomUUID } from 'node:crypto';
import express from 'express';
import { listenLocal, type Listening } from '../../sandbox/listen';
import { vapiList } from '../../sandbox/vapi-listing';
import { startVapiSimulator, type VapiSimulator } from '../../sandbox/vapi-simulator';
import { createVapiClient, type VapiCall, type VapiCallQuery, type VapiClient } from '../../shared/clients/vapi-client';
import { startVapiCallSimulator } from '../support/vapi';

const PAGE = 4;
const MAX_PAGES = 5;
const T0 = Date.UTC(2026, 0, 5, 12, 0, 0);
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();

/** Every call of the listing, all pages (the visitor never stops it). */
async function allCalls(client: VapiClient, query: VapiCallQuery): Promise<VapiCall[]> {
  const all: VapiCall[] = [];
  await client.eachCallPage(query, async (page) => {
    all.push(...page);
    return undefined;
  });
  return all;
}

describe('Vapi listings read page by page', () => {
  let sim: Awaited<ReturnType<typeof startVapiCallSimulator>>;
  let client: VapiClient;
  beforeAll(async () => {
    sim = await startVapiCallSimulator();
    client = createVapiClient({ apiBaseUrl: sim.url, apiKey: 'k', timeoutMs: 5000, pageSize: PAGE, maxPages: MAX_PAGES });
  });
  afterAll(async () => sim.close());

  /** `count` calls of the number, the first at T0 + `seconds`, each next `stepSeconds` later. */
  async function seed(phoneNumberId: string, seconds: number, count: number, stepSeconds: number): Promise<string[]> {
    const res = await fetch(`${sim.url}/sandbox/calls/seed`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ phoneNumberId, count, createdAt: at(seconds), stepMs: stepSeconds * 1000 }),
    });
    expect(res.status).toBe(201);
    return ((await res.json()) as { ids: string[] }).ids;
  }
  /** Every page handed to the visitor, and the queries sent for this number. */
  async function pagesOf(query: VapiCallQuery & { phoneNumberId: string }) {
    const pages: VapiCall[][] = [];
    await client.eachCallPage(query, async (page) => {
      pages.push(page);
      return undefined;
    });
    return { pages, queries: sim.listings.filter((q) => q.get('phoneNumberId') === query.phoneNumberId) };
  }

  it('reads calls that share a createdAt across a page boundary once each, none missed', async () => {
    const pn = `pn-${randomUUID()}`;
    const ids = [...(await seed(pn, 3, 3, -1)), ...(await seed(pn, 0, 3, 0)), ...(await seed(pn, -1, 3, -1))];
    const { pages, queries } = await pagesOf({ phoneNumberId: pn });
    // Page 1 ends inside the three calls at T0; page 2 starts at T0 again (inclusive) and skips the one seen.
    expect(pages.map((p) => p.length)).toEqual([4, 3, 2]);
    expect(pages[0]?.filter((c) => c.createdAt === at(0))).toHaveLength(1);
    expect(queries.map((q) => q.get('createdAtLe'))).toEqual([null, at(0), at(-1)]);
    const read = pages.flat().map((c) => c.id);
    expect(read).toHaveLength(ids.length);
    expect([...read].sort()).toEqual([...ids].sort());
    expect((await allCalls(client, { phoneNumberId: pn })).map((c) => c.id).sort()).toEqual([...ids].sort());
  });

  it('stops at the page where the visitor finds what it looks for', async () => {
    const pn = `pn-${randomUUID()}`;
    const ids = await seed(pn, 0, 12, -1); // newest first: ids[5] is on page 2 of 3
    const visited: number[] = [];
    const found = await client.eachCallPage({ phoneNumberId: pn }, async (page) => {
      visited.push(page.length);
      return page.find((c) => c.id === ids[5]);
    });
    expect(found?.id).toBe(ids[5]);
    // Page 2 starts at page 1's oldest call again (bounds are inclusive): three new calls.
    expect(visited).toEqual([4, 3]);
    expect(sim.listings.filter((q) => q.get('phoneNumberId') === pn)).toHaveLength(2);
  });

  it("keeps the caller's createdAt window on every page: createdAtGe as given, createdAtLe only narrowed", async () => {
    const pn = `pn-${randomUUID()}`;
    const ids = await seed(pn, 0, 20, 1); // T0 … T0 + 19 s
    const window = { phoneNumberId: pn, createdAtGe: at(3), createdAtLe: at(14) };
    const { pages, queries } = await pagesOf(window);
    const read = pages.flat();
    expect(read.map((c) => c.id).sort()).toEqual(ids.slice(3, 15).sort());
    expect(queries.length).toBeGreaterThan(1);
    for (const q of queries) {
      expect(q.get('createdAtGe')).toBe(window.createdAtGe);
      expect(Date.parse(q.get('createdAtLe') ?? '')).toBeLessThanOrEqual(Date.parse(window.createdAtLe));
    }
    expect(queries[0]?.get('createdAtLe')).toBe(window.createdAtLe);
  });

  it('fails after its page limit rather than answering part of the listing', async () => {
    const pn = `pn-${randomUUID()}`;
    const ids = await seed(pn, 0, PAGE * MAX_PAGES + 10, -1);
    let seen = 0;
    const oldest = ids.at(-1);
    const looking = client.eachCallPage({ phoneNumberId: pn }, async (page) => {
      seen += page.length;
      return page.find((c) => c.id === oldest);
    });
    await expect(looking).rejects.toThrow(`Vapi /call listing exceeded ${MAX_PAGES} pages of ${PAGE}`);
    // Each page after the first repeats the previous page's oldest call (inclusive bounds).
    expect(seen).toBe(PAGE + (MAX_PAGES - 1) * (PAGE - 1));
  });

  it('fails rather than misses calls when a full page shares one createdAt', async () => {
    const pn = `pn-${randomUUID()}`;
    await seed(pn, 0, PAGE + 1, 0);
    await expect(allCalls(client, { phoneNumberId: pn })).rejects.toThrow('Vapi /call listing cannot page past a full page of one createdAt');
  });
});

describe('a Vapi list answered oldest first', () => {
  // Vapi's spec states no order for GET /call: a listing must follow the order the page shows.
  const items = Array.from({ length: 10 }, (_, i) => ({ id: `call-${i}`, status: 'ended', phoneNumberId: 'pn-1', createdAt: at(i), updatedAt: at(i) }));
  const queries: URLSearchParams[] = [];
  let server: Listening;
  beforeAll(async () => {
    const app = express();
    app.get('/call', (req, res) => {
      queries.push(new URLSearchParams(req.originalUrl.split('?')[1] ?? ''));
      const listed = vapiList(items, req.query, 'oldest_first');
      if (listed.ok) res.json(listed.items);
      else res.status(400).json({ message: listed.message, error: 'Bad Request', statusCode: 400 });
    });
    server = await listenLocal(app);
  });
  afterAll(async () => server.close());

  it("moves createdAtGe up from the newest seen, inside the caller's window, and reads each call once", async () => {
    const client = createVapiClient({ apiBaseUrl: server.url, apiKey: 'k', timeoutMs: 5000, pageSize: PAGE, maxPages: MAX_PAGES });
    const read = await allCalls(client, { phoneNumberId: 'pn-1', createdAtGe: at(2), createdAtLe: at(8) });
    expect(read.map((c) => c.id)).toEqual(['call-2', 'call-3', 'call-4', 'call-5', 'call-6', 'call-7', 'call-8']);
    expect(queries.map((q) => [q.get('createdAtGe'), q.get('createdAtLe')])).toEqual([
      [at(2), at(8)],
      [at(5), at(8)],
      [at(8), at(8)],
    ]);
  });
});

describe('Vapi phone numbers read page by page', () => {
  let vapi: VapiSimulator;
  beforeAll(async () => {
    vapi = await startVapiSimulator();
  });
  afterAll(async () => vapi.close());

  it('reads numbers that share a createdAt across a page boundary once each, through the same paging', async () => {
    const times = [at(5), at(4), at(3), at(3), at(3), at(2), at(1)];
    for (const [i, t] of times.entries()) {
      const id = randomUUID();
      vapi.phoneNumbers.set(id, { id, orgId: 'vapi-org', provider: 'twilio', number: `+1555000010${i}`, name: null, assistantId: null, twilioAccountSid: 'AC1', server: null, status: 'active', createdAt: t, updatedAt: t });
    }
    const client = createVapiClient({ apiBaseUrl: vapi.url, apiKey: 'k', timeoutMs: 5000, pageSize: PAGE, maxPages: MAX_PAGES });
    const pages: number[] = [];
    await client.eachPhoneNumberPage(async (page) => {
      pages.push(page.length);
    });
    // Two of the three at T0 + 3 s on page 1, the third on page 2.
    expect(pages).toEqual([4, 2, 1]);
    expect((await client.listPhoneNumbers()).map((p) => p.id).sort()).toEqual([...vapi.phoneNumbers.keys()].sort());
  });
});
