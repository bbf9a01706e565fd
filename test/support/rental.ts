// Helpers for the number-rental tests (issue 24): numbers bought through the real purchase path
// (the SQL debit, the worker's attempt against the Twilio and Vapi simulators, the completion),
// the billing clock moved as an operator moves it, and the ledger and rows read back.
import request from 'supertest';
import { runAttempt } from '../../shared/provisioning/run-attempt';
import { phoneNumberPrices } from '../../shared/pricing';
import { rentalDeps } from '../../shared/rental/rental-deps';
import { chargeDueRents, type RentRunReport } from '../../workers/rent-worker';
import { TEST_ADMIN_TOKEN, type TestContext } from './context';
import type { ProvisioningWorld } from './provisioning';

export const DAY_SECONDS = 86_400;

export interface BoughtNumber {
  requestId: string;
  numberId: string;
  e164: string;
  twilioSid: string;
  vapiPhoneNumberId: string;
  assistantId: string;
}

/**
 * A number bought as the worker buys one (the request debited in SQL, one attempt through the
 * simulators, completed): the number exists at Twilio (FriendlyName = the request id) and Vapi.
 */
export async function buyNumber(w: ProvisioningWorld, orgId: string, key: string, assistantId = `asst-${key}`): Promise<BoughtNumber> {
  const s = w.ctx.services;
  const created = await s.provisioning.create({
    orgId, prices: phoneNumberPrices(w.ctx.config.pricing), idempotencyKey: key, fingerprint: 'b'.repeat(64), areaCode: '415', country: 'US', assistantId, maxAttempts: 5,
  });
  if (created.outcome !== 'queued') throw new Error(`fixture purchase not accepted: ${created.outcome}`);
  // The world's workers may run this request too (the provisioning sweeper requeues a request
  // that has no job): the two runs converge on one number, and either may be the one that
  // completes it, so a run that finds it completed already ('final') is as good as our own.
  const attempt = await runAttempt(s, created.request.id);
  const done = attempt.kind === 'completed' || (attempt.kind === 'final' && attempt.status === 'completed');
  if (!done) throw new Error(`fixture purchase not completed: ${JSON.stringify(attempt)}`);
  const row = await w.ctx.pool.query<{ id: string; e164: string; twilio_sid: string; vapi_phone_number_id: string }>(
    'select n.id, n.e164, n.twilio_sid, n.vapi_phone_number_id from phone_numbers n join provisioning_requests r on r.phone_number = n.e164 and r.org_id = n.org_id where r.id = $1 and n.released_at is null',
    [created.request.id],
  );
  const n = row.rows[0];
  if (n === undefined) throw new Error('fixture purchase left no number');
  return { requestId: created.request.id, numberId: n.id, e164: n.e164, twilioSid: n.twilio_sid, vapiPhoneNumberId: n.vapi_phone_number_id, assistantId };
}

/** POST /api/admin/clock as an operator; returns the answer's body. */
export async function advanceClock(ctx: TestContext, seconds: number): Promise<{ now: string; offsetSeconds: number }> {
  const res = await request(ctx.app()).post('/api/admin/clock').set('Authorization', `Bearer ${TEST_ADMIN_TOKEN}`).send({ advanceSeconds: seconds });
  if (res.status !== 200) throw new Error(`clock not moved: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { now: string; offsetSeconds: number };
}

/** Moves the billing clock to `at` (forward only), reading where it is from Postgres. */
export async function advanceClockTo(ctx: TestContext, at: Date): Promise<void> {
  const now = await ctx.pool.query<{ ms: string }>('select (extract(epoch from billing_now()) * 1000)::bigint as ms');
  const seconds = Math.ceil((at.getTime() - Number(now.rows[0]!.ms)) / 1000);
  if (seconds < 1) throw new Error(`the billing clock is already past ${at.toISOString()}`);
  await advanceClock(ctx, seconds);
}

/** One rent sweep, as the rentals queue's job runs it. */
export function runRentSweep(ctx: TestContext, scope: { orgId?: string } = {}): Promise<RentRunReport> {
  return chargeDueRents(rentalDeps(ctx.services), scope);
}

export interface RentEntry {
  amount: number;
  reference: string;
  idempotency_key: string;
  balance_after: number;
}

export async function rentEntries(ctx: TestContext, orgId: string): Promise<RentEntry[]> {
  const r = await ctx.pool.query<RentEntry>(
    "select amount::int, reference, idempotency_key, balance_after::int from ledger_entries where org_id = $1 and kind = 'phone_number_rent' order by id",
    [orgId],
  );
  return r.rows;
}

export interface NumberRow {
  status: string;
  paid_months: number | null;
  paid_until: Date | null;
  past_due_since: Date | null;
  rent_anchor: Date | null;
  release_reason: string | null;
  released_at: Date | null;
}

export async function numberRow(ctx: TestContext, numberId: string): Promise<NumberRow> {
  const r = await ctx.pool.query<NumberRow>('select status, paid_months, paid_until, past_due_since, rent_anchor, release_reason, released_at from phone_numbers where id = $1', [numberId]);
  if (r.rows[0] === undefined) throw new Error(`no number ${numberId}`);
  return r.rows[0];
}

export async function walletEventTypes(ctx: TestContext, orgId: string): Promise<string[]> {
  const r = await ctx.pool.query<{ type: string }>('select type from wallet_events where org_id = $1 order by id', [orgId]);
  return r.rows.map((x) => x.type);
}
