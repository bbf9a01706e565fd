// Proves usage at a glance (CONTRACT §12) against the real ledger: 50 calls admitted through the
// Vapi webhook, reported and charged by the real call-billing worker and call_settle, a number
// bought (wallet_debit_for_purchase) and refunded (wallet_refund), then the whole history moved
// onto three UTC days across a month end (test/support/usage-fixtures.ts says how: the
// append-only trigger is off for that one superuser transaction). Then:
//   - GET /api/wallet/usage gives every day of the range, zeros included, and each day's amounts
//     equal the sums of that day's ledger entries of the bucket's kinds, to the penny; the calls'
//     count and billed seconds match what was sent;
//   - GET /api/wallet/statement for each month: header, opening, one row per entry with the
//     ledger's own amount and balance after as decimals, closing; closing − opening = the sum of
//     the rows; one month's closing is the next month's opening; a formula in a reference is
//     neutralised, negative amounts are not;
//   - GET /api/calls pages through all 50 calls newest first, each with its numbers, seconds,
//     charge and rate, and the charges per day add up to the usage;
//   - bad input (dates, ranges, months, cursors, limits) is a 400 with a clear body and nothing
//     changes; another organisation sees none of it.
import request from 'supertest';
import { startCallBillingWorker } from '../../workers/call-billing-worker';
import { createFundedOrg, createTestContext, TEST_JWT_SECRET, type TestContext } from '../support/context';
import { expectLedgerConsistent } from '../support/invariants';
import { dashboardToken } from '../support/jwt';
import { assistantRequestFrom, backdateOrg, CALLER, callSeconds, ledgerDays, minorOf, parseCsv, reportFrom } from '../support/usage-fixtures';
import { eventually } from '../support/eventually';
import { postWebhook, registerNumber, type TestNumber } from '../support/vapi';

jest.setTimeout(60_000);

const CALLS = 50;
const DAYS = ['2026-10-30', '2026-10-31', '2026-11-01'];
const RATE = 56;

let ctx: TestContext;
let worker: ReturnType<typeof startCallBillingWorker>;
let orgId: string;
let token: string;
let num: TestNumber;
const seconds = new Map<string, number>();

const get = (path: string, bearer = token) => request(ctx.app()).get(path).set('authorization', `Bearer ${bearer}`);
const ledgerCount = async () => Number((await ctx.pool.query('select count(*) as n from ledger_entries')).rows[0].n);

beforeAll(async () => {
  ctx = await createTestContext();
  worker = startCallBillingWorker(ctx.services);
  orgId = await createFundedOrg(ctx.services, 100_000, 'Usage Ltd');
  token = await dashboardToken(TEST_JWT_SECRET, orgId);
  num = await registerNumber(ctx.services, orgId);
  for (let i = 0; i < CALLS; i += 10) {
    const batch = Array.from({ length: 10 }, (_, j) => i + j);
    await Promise.all(
      batch.map(async (n) => {
        const callId = `usage-call-${String(n).padStart(2, '0')}`;
        seconds.set(callId, callSeconds(n));
        const gate = await postWebhook(ctx.app(), assistantRequestFrom(num, callId));
        expect(gate.body.assistantId).toBe(num.assistantId);
        expect((await postWebhook(ctx.app(), reportFrom(num, callId, orgId, callSeconds(n)))).status).toBe(200);
      }),
    );
  }
  await eventually(async () => {
    const r = await ctx.pool.query('select count(*) as n from call_reports where org_id = $1 and billed_at is not null', [orgId]);
    return Number(r.rows[0].n) === CALLS ? true : undefined;
  }, { what: 'every call billed', timeoutMs: 30_000 });
  // A number bought and refunded, the reference written by the caller (a formula, for the CSV).
  const debit = await ctx.services.store.debitForPurchase({ orgId, amount: 1000, idempotencyKey: 'usage-number', reference: '=HYPERLINK("http://evil.example")' });
  if (debit.outcome !== 'debited') throw new Error(`fixture purchase: ${debit.outcome}`);
  await ctx.services.store.debitForPurchase({ orgId, amount: 1000, idempotencyKey: 'usage-number-2', reference: 'number kept' });
  const refund = await ctx.services.store.refund({ orgId, entryId: debit.entryId, reason: 'no number found' });
  if (refund.outcome !== 'refunded') throw new Error(`fixture refund: ${refund.outcome}`);
  await backdateOrg(ctx.pool, orgId, DAYS);
}, 90_000);

afterAll(async () => {
  await worker?.close(5000);
  await ctx?.close();
});

describe('GET /api/wallet/usage', () => {
  it('gives every day of the range, and each day equals the sums of that day’s ledger entries to the penny', async () => {
    const res = await get('/api/wallet/usage?from=2026-10-29&to=2026-11-02');
    expect(res.status).toBe(200);
    expect(res.body.currency).toBe('gbp');
    expect(res.body.days.map((d: { date: string }) => d.date)).toEqual(['2026-10-29', ...DAYS, '2026-11-02']);
    const ledger = await ledgerDays(ctx.pool, orgId);
    expect([...ledger.keys()].sort()).toEqual(DAYS);
    for (const day of res.body.days) {
      const want = ledger.get(day.date) ?? { calls: { count: 0, amount: 0 }, numbers: { amount: 0 }, topUps: { amount: 0 }, refunds: { amount: 0 } };
      expect({ date: day.date, calls: { count: day.calls.count, amount: day.calls.amount }, numbers: day.numbers, topUps: day.topUps, refunds: day.refunds }).toEqual({ date: day.date, ...want });
    }
    // Every call once, its billed seconds as sent (whole seconds), its charge ceil(s × 56 ÷ 60).
    const days = res.body.days as Array<{ calls: { count: number; seconds: number; amount: number }; numbers: { amount: number }; topUps: { amount: number }; refunds: { amount: number } }>;
    expect(days.reduce((n, d) => n + d.calls.count, 0)).toBe(CALLS);
    expect(days.reduce((n, d) => n + d.calls.seconds, 0)).toBe([...seconds.values()].reduce((a, b) => a + b, 0));
    expect(days.reduce((n, d) => n + d.calls.amount, 0)).toBe(-[...seconds.values()].reduce((a, s) => a + Math.ceil((s * RATE) / 60), 0));
    expect(days.reduce((n, d) => n + d.numbers.amount, 0)).toBe(-2000);
    expect(days.reduce((n, d) => n + d.refunds.amount, 0)).toBe(1000);
    expect(days.reduce((n, d) => n + d.topUps.amount, 0)).toBe(100_000);
  });

  it('gives zeros for days without entries, and accepts one day and 366 days', async () => {
    const one = await get('/api/wallet/usage?from=2026-01-01&to=2026-01-01');
    expect(one.status).toBe(200);
    expect(one.body.days).toEqual([{ date: '2026-01-01', calls: { count: 0, seconds: 0, amount: 0 }, numbers: { amount: 0 }, topUps: { amount: 0 }, refunds: { amount: 0 } }]);
    const year = await get('/api/wallet/usage?from=2025-11-02&to=2026-11-02');
    expect(year.status).toBe(200);
    expect(year.body.days).toHaveLength(366);
    expect(year.body.days.reduce((n: number, d: { calls: { count: number } }) => n + d.calls.count, 0)).toBe(CALLS);
  });

  it('shows another organisation none of it', async () => {
    const other = await createFundedOrg(ctx.services, 0, 'Other Ltd');
    const res = await get('/api/wallet/usage?from=2026-10-30&to=2026-11-01', await dashboardToken(TEST_JWT_SECRET, other));
    expect(res.body.days.every((d: { calls: { count: number }; topUps: { amount: number } }) => d.calls.count === 0 && d.topUps.amount === 0)).toBe(true);
  });
});

describe('GET /api/wallet/statement', () => {
  async function statement(month: string) {
    const res = await get(`/api/wallet/statement?month=${month}`).buffer(true).parse((r, done) => {
      let text = '';
      r.setEncoding('utf8');
      r.on('data', (c: string) => (text += c));
      r.on('end', () => done(null, text));
    });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['content-disposition']).toBe(`attachment; filename="statement-${month}-gbp.csv"`);
    return { text: res.body as string, rows: parseCsv(res.body as string) };
  }

  it('lists every entry of the month with the ledger’s amount and balance after, between opening and closing balances that add up', async () => {
    let previousClosing = 0;
    for (const month of ['2026-10', '2026-11']) {
      const { rows } = await statement(month);
      expect(rows[0]).toEqual(['date', 'kind', 'reference', 'description', 'amount', 'balance_after']);
      const opening = rows[1]!;
      const closing = rows[rows.length - 1]!;
      expect(opening.slice(0, 2)).toEqual([`${month}-01`, 'opening_balance']);
      expect(closing[1]).toBe('closing_balance');
      expect(opening[4]).toBe('');
      const entries = rows.slice(2, -1);
      const ledger = await ctx.pool.query(
        `select id, kind, amount, balance_after, created_at from ledger_entries
          where org_id = $1 and to_char(created_at at time zone 'UTC', 'YYYY-MM') = $2 order by id`,
        [orgId, month],
      );
      expect(entries).toHaveLength(ledger.rowCount ?? 0);
      entries.forEach((row, i) => {
        const e = ledger.rows[i];
        expect(row[0]).toBe(new Date(e.created_at).toISOString());
        expect(row[1]).toBe(e.kind);
        expect(minorOf(row[4]!)).toBe(Number(e.amount));
        expect(minorOf(row[5]!)).toBe(Number(e.balance_after));
      });
      const sum = entries.reduce((n, row) => n + minorOf(row[4]!), 0);
      expect(minorOf(closing[5]!) - minorOf(opening[5]!)).toBe(sum);
      expect(minorOf(opening[5]!)).toBe(previousClosing);
      previousClosing = minorOf(closing[5]!);
    }
    const wallet = await ctx.services.store.getWallet(orgId);
    expect(previousClosing).toBe(wallet?.balance);
  });

  it('neutralises a formula in a reference but leaves negative amounts numeric', async () => {
    const { text, rows } = await statement('2026-11');
    expect(text).toContain(`"'=HYPERLINK(""http://evil.example"")"`);
    const purchase = rows.find((r) => r[2] === `'=HYPERLINK("http://evil.example")`);
    expect(purchase?.slice(1, 5)).toEqual(['phone_number', `'=HYPERLINK("http://evil.example")`, 'Phone number purchase', '-10.00']);
    expect(rows.some((r) => r[1] === 'call' && /^-\d+\.\d{2}$/.test(r[4]!))).toBe(true);
  });

  it('streams a busy month page by page from one cut: entries posted during the download are left out, and the rows still add up', async () => {
    const busy = await createFundedOrg(ctx.services, 10_000, 'Busy Ltd');
    const bearer = await dashboardToken(TEST_JWT_SECRET, busy);
    // 2,300 entries this month (more than two pages of STATEMENT_PAGE_ROWS), through ledger_post itself.
    await ctx.pool.query("select ledger_post($1, 'call', -1, 'busy:' || g, 'busy call ' || g, null, false) from generate_series(1, 2300) g", [busy]);
    const month = new Date().toISOString().slice(0, 7);
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing && i < 2000; i++) await ctx.pool.query("select ledger_post($1, 'call', -1, 'during:' || $2::text, 'during', null, false)", [busy, i]);
    })();
    const res = await get(`/api/wallet/statement?month=${month}`, bearer).buffer(true).parse((r, done) => {
      let text = '';
      r.setEncoding('utf8');
      r.on('data', (c: string) => (text += c));
      r.on('end', () => done(null, text));
    });
    writing = false;
    await writer;
    const rows = parseCsv(res.body as string);
    const entries = rows.slice(2, -1);
    expect(entries.length).toBeGreaterThanOrEqual(2301);
    const total = Number((await ctx.pool.query('select count(*) as n from ledger_entries where org_id = $1', [busy])).rows[0].n);
    expect(total).toBeGreaterThan(entries.length);
    const sum = entries.reduce((n, row) => n + minorOf(row[4]!), 0);
    expect(minorOf(rows[rows.length - 1]![5]!) - minorOf(rows[1]![5]!)).toBe(sum);
    expect(minorOf(rows[rows.length - 1]![5]!)).toBe(minorOf(entries[entries.length - 1]![5]!));
  });

  it('gives an empty month its opening and closing balance only', async () => {
    const { rows } = await statement('2027-02');
    expect(rows).toHaveLength(3);
    expect(rows[1]![5]).toBe(rows[2]![5]);
    expect(rows[2]!.slice(0, 2)).toEqual(['2027-02-28', 'closing_balance']);
  });
});

describe('GET /api/calls', () => {
  it('pages through every call newest first with its numbers, seconds, charge and rate, adding up to the usage', async () => {
    const seen: Array<Record<string, unknown>> = [];
    let cursor: string | null = null;
    for (let page = 0; page < 20; page++) {
      const res = await get(`/api/calls?limit=7${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      seen.push(...res.body.items);
      cursor = res.body.nextCursor;
      if (cursor === null) break;
    }
    expect(seen).toHaveLength(CALLS);
    expect(new Set(seen.map((c) => c.callId)).size).toBe(CALLS);
    const started = seen.map((c) => Date.parse(c.startedAt as string));
    expect(started).toEqual([...started].sort((a, b) => b - a));
    const charges = await ctx.pool.query(
      `select c.call_id, e.amount, to_char(e.created_at at time zone 'UTC', 'YYYY-MM-DD') as day
         from calls c join ledger_entries e on e.id = c.charge_entry_id where c.org_id = $1`,
      [orgId],
    );
    const charge = new Map(charges.rows.map((r) => [r.call_id as string, { amount: Number(r.amount), day: r.day as string }]));
    const perDay = new Map<string, number>();
    for (const c of seen) {
      const id = c.callId as string;
      expect(c).toEqual({
        callId: id,
        direction: 'inbound',
        from: CALLER,
        to: num.e164,
        startedAt: expect.any(String),
        endedAt: expect.any(String),
        seconds: seconds.get(id),
        amount: charge.get(id)?.amount,
        ratePerMinute: RATE,
        status: 'billed',
      });
      expect(c.amount).toBe(0 - Math.ceil(((seconds.get(id) ?? 0) * RATE) / 60));
      expect(Date.parse(c.endedAt as string) - Date.parse(c.startedAt as string)).toBe((seconds.get(id) ?? 0) * 1000);
      const day = charge.get(id)!.day;
      perDay.set(day, (perDay.get(day) ?? 0) + (c.amount as number));
    }
    const usage = await get(`/api/wallet/usage?from=${DAYS[0]}&to=${DAYS[2]}`);
    for (const d of usage.body.days) expect(d.calls.amount).toBe(perDay.get(d.date) ?? 0);
  });

  it('lists a charged call that has no calls row (fail-open, or its hold record lost) among the others, paging across it', async () => {
    const other = await createFundedOrg(ctx.services, 10_000, 'Unrecorded Ltd');
    const otherNum = await registerNumber(ctx.services, other);
    const otherToken = await dashboardToken(TEST_JWT_SECRET, other);
    const gated = async (callId: string) => {
      expect((await postWebhook(ctx.app(), assistantRequestFrom(otherNum, callId))).body.assistantId).toBe(otherNum.assistantId);
      await eventually(async () => ((await ctx.pool.query('select 1 from calls where call_id = $1', [callId])).rowCount === 1 ? true : undefined));
      expect((await postWebhook(ctx.app(), reportFrom(otherNum, callId, other, 30))).status).toBe(200);
    };
    await gated('listed-first');
    // Its report only: the gate never recorded it.
    expect((await postWebhook(ctx.app(), reportFrom(otherNum, 'listed-unrecorded', other, 20))).status).toBe(200);
    await gated('listed-last');
    await eventually(async () => {
      const r = await ctx.pool.query('select count(*) as n from call_reports where org_id = $1 and billed_at is not null', [other]);
      return Number(r.rows[0].n) === 3 ? true : undefined;
    }, { what: 'the three calls billed' });
    expect((await ctx.pool.query('select 1 from calls where call_id = $1', ['listed-unrecorded'])).rowCount).toBe(0);

    const pages: string[][] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 5; page++) {
      const res = await get(`/api/calls?limit=1${cursor ? `&cursor=${cursor}` : ''}`, otherToken);
      expect(res.status).toBe(200);
      pages.push((res.body.items as Array<{ callId: string }>).map((c) => c.callId));
      cursor = res.body.nextCursor;
      if (cursor === null) break;
    }
    expect(pages.flat()).toEqual(['listed-last', 'listed-unrecorded', 'listed-first']);
    const all = (await get('/api/calls?limit=10', otherToken)).body.items as Array<Record<string, unknown>>;
    expect(all.find((c) => c.callId === 'listed-unrecorded')).toMatchObject({ direction: 'inbound', to: otherNum.e164, seconds: 20, amount: -Math.ceil((20 * RATE) / 60), ratePerMinute: RATE, status: 'billed' });
    // The list adds up to the ledger's calls, the unrecorded one included.
    const ledger = await ctx.pool.query("select coalesce(sum(amount), 0)::int as total from ledger_entries where org_id = $1 and kind = 'call'", [other]);
    expect(all.reduce((sum, c) => sum + (c.amount as number), 0)).toBe(ledger.rows[0].total);
  });

  it('shows a call in progress without a charge, and another organisation none of the calls', async () => {
    expect((await postWebhook(ctx.app(), assistantRequestFrom(num, 'usage-live-call'))).body.assistantId).toBe(num.assistantId);
    const live = await eventually(async () => {
      const res = await get('/api/calls?limit=1');
      return res.body.items[0]?.callId === 'usage-live-call' ? res.body.items[0] : undefined;
    });
    expect(live).toMatchObject({ status: 'in_progress', seconds: null, amount: null, ratePerMinute: RATE, direction: 'inbound' });
    const other = await createFundedOrg(ctx.services, 0, 'Stranger Ltd');
    const res = await get('/api/calls', await dashboardToken(TEST_JWT_SECRET, other));
    expect(res.body).toEqual({ items: [], nextCursor: null });
  });
});

describe('bad input', () => {
  const refusals: Array<[string, RegExp]> = [
    ['/api/wallet/usage?from=2026-02-30&to=2026-03-01', /^from: is not a calendar date$/],
    ['/api/wallet/usage?from=2026-10-01', /^to: /],
    ['/api/wallet/usage?from=20261001&to=20261002', /^from: must be a date written YYYY-MM-DD$/],
    ['/api/wallet/usage?from=2026-10-02&to=2026-10-01', /^to: must not be before from$/],
    ['/api/wallet/usage?from=2025-11-01&to=2026-11-02', /^to: the range may cover at most 366 days$/],
    ['/api/wallet/usage?from=2026-10-01&to=2026-10-02&extra=1', /unrecognized key/i],
    ['/api/wallet/usage?from=2026-10-01&from=2026-10-02&to=2026-10-03', /^from: /],
    ['/api/wallet/statement?month=2026-13', /^month: must be a month written YYYY-MM$/],
    ['/api/wallet/statement?month=2026-1', /^month: must be a month written YYYY-MM$/],
    ['/api/wallet/statement?month=0000-01', /^month: is not a month$/],
    ['/api/wallet/statement', /^month: /],
    ['/api/calls?cursor=not-a-cursor!', /^cursor: is not a cursor from this API$/],
    [`/api/calls?cursor=${Buffer.from('["yesterday","x"]').toString('base64url')}`, /^cursor: is not a cursor from this API$/],
    [`/api/calls?cursor=${Buffer.from('{"at":1}').toString('base64url')}`, /^cursor: is not a cursor from this API$/],
    ['/api/calls?limit=0', /^limit: /],
    ['/api/calls?limit=201', /^limit: /],
    ['/api/wallet/top-ups?cursor=%%%', /^cursor: /],
  ];

  it.each(refusals)('refuses %s with a 400 that says why, and changes nothing', async (path, message) => {
    const before = await ledgerCount();
    const res = await get(path);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: 'invalid_request', message: expect.stringMatching(message) });
    expect(await ledgerCount()).toBe(before);
  });

  it('refuses every one of them without a token (401), before reading the query', async () => {
    for (const path of ['/api/wallet/usage?from=x', '/api/wallet/statement?month=x', '/api/calls?cursor=x']) {
      expect((await request(ctx.app()).get(path)).status).toBe(401);
    }
  });

  it('kept the ledger consistent throughout', async () => {
    await expectLedgerConsistent(ctx.pool);
  });
});
