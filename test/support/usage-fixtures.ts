// Fixtures for the usage, statement and calls-list tests (CONTRACT §12): inbound calls in Vapi's
// shape with the caller's number, and backdating a wallet's history over chosen UTC days.
//
// Backdating. Every row is first written by the real SQL functions (the gate's admission, the
// report, call_settle's charge, ledger_post for everything else); only then are the times moved.
// ledger_entries is append-only: its trigger refuses every UPDATE. The test database is the
// test's own and the test connects as the superuser, so one transaction sets
// `session_replication_role = replica` (SET LOCAL: that transaction only), under which ordinary
// triggers do not fire, and moves created_at. Nothing else changes: amounts, balances, ids and
// the order of the entries stay as the functions wrote them, and the service's own connections
// keep the trigger. The entries are spread over the days in id order, so the ledger's order and
// its times still agree (each day's entries follow the previous day's).
import type { Pool, PoolClient } from 'pg';

/** The test's own reading of the kind → usage bucket map (the service's is ledger_kinds() in SQL). */
export const EXPECTED_BUCKET: Record<string, 'calls' | 'numbers' | 'refunds' | 'topUps'> = {
  call: 'calls',
  phone_number: 'numbers',
  phone_number_rent: 'numbers',
  phone_number_refund: 'refunds',
  topup: 'topUps',
  topup_refund: 'topUps',
  dispute: 'topUps',
  dispute_reversal: 'topUps',
};

export const CALLER = '+447700900123';

/** Seconds of the n-th call of a plan: varied, some zero, none a whole minute only. */
export const callSeconds = (n: number) => (n % 17 === 0 ? 0 : 5 + ((n * 37) % 290));

export function assistantRequestFrom(num: { vapiPhoneNumberId: string; e164: string }, callId: string, caller = CALLER) {
  return {
    message: {
      type: 'assistant-request',
      timestamp: Date.now(),
      call: { id: callId, type: 'inboundPhoneCall', phoneNumberId: num.vapiPhoneNumberId, customer: { number: caller } },
      phoneNumber: { id: num.vapiPhoneNumberId, number: num.e164 },
      customer: { number: caller },
    },
  };
}

export function reportFrom(num: { vapiPhoneNumberId: string; e164: string }, callId: string, orgId: string, seconds: number, caller = CALLER) {
  const endedAt = new Date();
  const startedAt = new Date(endedAt.getTime() - seconds * 1000);
  return {
    message: {
      type: 'end-of-call-report',
      endedReason: 'customer-ended-call',
      startedAt: startedAt.toISOString(),
      endedAt: endedAt.toISOString(),
      durationSeconds: seconds,
      call: { id: callId, phoneNumberId: num.vapiPhoneNumberId, metadata: { orgId }, customer: { number: caller } },
      phoneNumber: { id: num.vapiPhoneNumberId, number: num.e164 },
      customer: { number: caller },
    },
  };
}

async function inReplicaTransaction(pool: Pool, work: (c: PoolClient) => Promise<void>): Promise<void> {
  const c = await pool.connect();
  try {
    await c.query('begin');
    await c.query('set local session_replication_role = replica');
    await work(c);
    await c.query('commit');
  } catch (err) {
    await c.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    c.release();
  }
}

/**
 * Moves every ledger entry of the organisation onto `days` (YYYY-MM-DD, UTC), spread in id order
 * (the first share of the entries on the first day, …), and each call the organisation was charged
 * for with its charge: admitted `seconds` before the charge, its report from admission to end.
 * Returns the new created_at of every entry by id.
 */
export async function backdateOrg(pool: Pool, orgId: string, days: string[]): Promise<Map<number, Date>> {
  const ids = (await pool.query<{ id: string }>('select id from ledger_entries where org_id = $1 order by id', [orgId])).rows.map((r) => Number(r.id));
  const at = new Map<number, Date>();
  ids.forEach((id, k) => {
    const day = Math.min(days.length - 1, Math.floor((k * days.length) / ids.length));
    const first = Math.ceil((day * ids.length) / days.length);
    const inDay = Math.ceil(((day + 1) * ids.length) / days.length) - first;
    const step = Math.floor((86_400 - 1_200) / Math.max(inDay, 1));
    at.set(id, new Date(Date.parse(`${days[day]}T00:10:00Z`) + (k - first) * step * 1000));
  });
  await inReplicaTransaction(pool, async (c) => {
    for (const [id, when] of at) await c.query('update ledger_entries set created_at = $2 where id = $1', [id, when]);
    // A call's times follow its charge: admitted, reported and billed on the charge's day.
    await c.query(
      `with charged as (
         select c.call_id, e.created_at as billed, coalesce(r.billed_seconds, 0) as seconds
           from calls c join ledger_entries e on e.id = c.charge_entry_id
           left join call_reports r on r.call_id = c.call_id
          where c.org_id = $1)
       update calls c
          set admitted_at = x.billed - make_interval(secs => x.seconds + 2),
              created_at = x.billed - make_interval(secs => x.seconds + 2),
              ended_at = case when c.ended_at is null then null else x.billed - interval '1 second' end,
              released_at = x.billed, settled_at = x.billed,
              hold_expires_at = x.billed + interval '10 minutes'
         from charged x where x.call_id = c.call_id`,
      [orgId],
    );
    await c.query(
      `update call_reports r
          set started_at = c.admitted_at + interval '1 second',
              ended_at = c.admitted_at + interval '1 second' + make_interval(secs => coalesce(r.billed_seconds, 0)),
              received_at = e.created_at, billed_at = e.created_at
         from calls c, ledger_entries e
        where r.call_id = c.call_id and e.id = r.charge_entry_id and c.org_id = $1`,
      [orgId],
    );
  });
  return at;
}

export interface DayFigures {
  calls: { count: number; amount: number };
  numbers: { amount: number };
  topUps: { amount: number };
  refunds: { amount: number };
}

/** Each UTC day's sums of the organisation's ledger entries by bucket, read straight from ledger_entries. */
export async function ledgerDays(pool: Pool, orgId: string): Promise<Map<string, DayFigures>> {
  const rows = await pool.query<{ day: string; kind: string; n: string; total: string }>(
    `select to_char(created_at at time zone 'UTC', 'YYYY-MM-DD') as day, kind, count(*) as n, sum(amount) as total
       from ledger_entries where org_id = $1 group by 1, 2`,
    [orgId],
  );
  const days = new Map<string, DayFigures>();
  for (const r of rows.rows) {
    const d = days.get(r.day) ?? { calls: { count: 0, amount: 0 }, numbers: { amount: 0 }, topUps: { amount: 0 }, refunds: { amount: 0 } };
    const bucket = EXPECTED_BUCKET[r.kind];
    if (bucket === undefined) throw new Error(`the test does not know ledger kind ${r.kind}`);
    d[bucket].amount += Number(r.total);
    if (bucket === 'calls') d.calls.count += Number(r.n);
    days.set(r.day, d);
  }
  return days;
}

/** Minimal RFC 4180 reader for the statement (quoted cells, doubled quotes, CRLF). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += ch;
  }
  if (cell !== '' || row.length > 0) rows.push([...row, cell]);
  return rows;
}

/** "-12.34" → -1234 for a two-digit currency, exactly (no float). */
export function minorOf(decimal: string): number {
  const m = /^(-?)(\d+)\.(\d{2})$/.exec(decimal);
  if (!m) throw new Error(`not a two-digit decimal: ${decimal}`);
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 100 + Number(m[3]));
}
