// Acceptance check of a running deployment, through its public HTTP interface only (CONTRACT.md):
//   npm run test:billing-gates     (BILLING_GATES_URL, default http://127.0.0.1:3000)
// Secrets come from ADMIN_TOKEN, SUPABASE_JWT_SECRET and VAPI_WEBHOOK_SECRET, else the sandbox
// defaults. It walks both gates on a fresh organisation: provisioning refused at zero balance,
// accepted and completed after a top-up, refunded on the failing sandbox area code 000; the call
// gate refusing at zero balance with a spoken error and allowing after a top-up; a call billed
// once although its report arrives twice; and the ledger adding up. One PASS/FAIL line per phase,
// a summary, exit code 1 on any failure. Every request and every poll has a deadline.
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { SANDBOX_SECRETS } from '../../shared/config';
import { endProcess } from '../../shared/process/end-process';
import { eventually, NotReachedError } from '../support/eventually';

const BASE = (process.env.BILLING_GATES_URL ?? 'http://127.0.0.1:3000').replace(/\/$/, '');
const ADMIN_TOKEN = process.env.ADMIN_TOKEN || SANDBOX_SECRETS.ADMIN_TOKEN;
const JWT_SECRET = process.env.SUPABASE_JWT_SECRET || SANDBOX_SECRETS.SUPABASE_JWT_SECRET;
const VAPI_SECRET = process.env.VAPI_WEBHOOK_SECRET || SANDBOX_SECRETS.VAPI_WEBHOOK_SECRET;
/** Must match the deployment's CALL_RATE_PER_MINUTE (default 56). */
const CALL_RATE_PER_MINUTE = Number(process.env.CALL_RATE_PER_MINUTE || 56);

export const REQUEST_TIMEOUT_MS = 10_000;
/** Completion needs the sandbox Twilio and Vapi round trips; refunds of 000 need one attempt. */
export const PROVISION_POLL_TIMEOUT_MS = Number(process.env.ACCEPTANCE_POLL_TIMEOUT_MS || 60_000);
export const CALL_CHARGE_TIMEOUT_MS = 20_000;
/** After the charge appears, how long a second charge would have to show up. */
export const DUPLICATE_CHARGE_WINDOW_MS = 3_000;
const POLL_INTERVAL_MS = 250;
const ASSISTANT_ID = 'asst-acceptance';
const CALL_SECONDS = 61;

interface Reply {
  status: number;
  body: Record<string, unknown>;
}
interface Entry {
  id: number;
  kind: string;
  amount: number;
  balanceBefore: number;
  balanceAfter: number;
}

class Failure extends Error {}
function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Failure(message);
}
const show = (r: Reply) => `${r.status} ${JSON.stringify(r.body).slice(0, 300)}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function call(method: 'GET' | 'POST', path: string, headers: Record<string, string>, body?: unknown): Promise<Reply> {
  const res = await fetch(`${BASE}${path}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await res.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    parsed = { raw: text.slice(0, 200) };
  }
  return { status: res.status, body: parsed };
}

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const vapi = { 'x-vapi-secret': VAPI_SECRET };

async function dashboardFor(orgId: string): Promise<Record<string, string>> {
  const token = await new SignJWT({ role: 'authenticated', app_metadata: { org_id: orgId } })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(`acceptance-${orgId}`)
    .setIssuedAt()
    .setExpirationTime('30m')
    .sign(new TextEncoder().encode(JWT_SECRET));
  return { authorization: `Bearer ${token}` };
}

/** Every entry of the organisation, newest first, across pages. */
async function allEntries(dash: Record<string, string>): Promise<Entry[]> {
  const out: Entry[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 50; page++) {
    const r = await call('GET', `/api/wallet/transactions?limit=200${cursor ? `&cursor=${cursor}` : ''}`, dash);
    check(r.status === 200, `transactions: ${show(r)}`);
    out.push(...(r.body.items as Entry[]));
    cursor = r.body.nextCursor as string | null;
    if (!cursor) return out;
  }
  throw new Failure('transactions: more than 50 pages');
}

async function balanceOf(dash: Record<string, string>): Promise<number> {
  const r = await call('GET', '/api/wallet', dash);
  check(r.status === 200, `wallet: ${show(r)}`);
  return r.body.balance as number;
}

async function topUp(orgId: string, amount: number, key: string): Promise<void> {
  const r = await call('POST', `/api/admin/orgs/${orgId}/credits`, { ...admin, 'idempotency-key': key }, { amount, reason: 'acceptance top-up' });
  check(r.status === 201, `top-up: ${show(r)}`);
}

async function waitForFinal(dash: Record<string, string>, requestId: string, want: 'completed' | 'refunded'): Promise<Record<string, unknown>> {
  return eventually(
    async () => {
      const r = await call('GET', `/api/managed-telephony/provisioning/${requestId}`, dash);
      check(r.status === 200, `status: ${show(r)}`);
      const status = r.body.status as string;
      if (status === want) return r.body;
      const other = want === 'completed' ? 'refunded' : 'completed';
      check(status !== other, `request ${requestId} ended ${status}, expected ${want}: ${show(r)}`);
      return undefined;
    },
    { what: `request ${requestId} ${want}`, timeoutMs: PROVISION_POLL_TIMEOUT_MS, everyMs: POLL_INTERVAL_MS },
  );
}

function assistantRequest(callId: string, number: string) {
  return {
    message: {
      type: 'assistant-request',
      call: { id: callId, type: 'inboundPhoneCall' },
      phoneNumber: { number },
      customer: { number: '+15005550006' },
    },
  };
}

interface World {
  orgId: string;
  dash: Record<string, string>;
  price: number;
  phoneNumber?: string;
}

type Phase = { name: string; needs?: string; run: (w: World) => Promise<void> };

const phases: Phase[] = [
  {
    name: 'deployment is ready',
    run: async () => {
      const r = await call('GET', '/readyz', {});
      check(r.status === 200, `/readyz: ${show(r)}`);
    },
  },
  {
    name: 'provisioning refused at zero balance (402, nothing debited)',
    run: async (w) => {
      const r = await call('POST', '/api/managed-telephony/provision', { ...w.dash, 'idempotency-key': `acc-zero-${w.orgId}` }, { areaCode: '415', assistantId: ASSISTANT_ID });
      check(r.status === 402, `expected 402, got ${show(r)}`);
      check(r.body.error === 'insufficient_funds' && r.body.balance === 0, `402 body: ${show(r)}`);
      check(Number.isInteger(r.body.required) && (r.body.required as number) > 0 && r.body.shortfall === r.body.required, `402 amounts: ${show(r)}`);
      w.price = r.body.required as number;
      check((await balanceOf(w.dash)) === 0, 'balance changed after a refusal');
      check((await allEntries(w.dash)).length === 0, 'a ledger entry appeared after a refusal');
    },
  },
  {
    name: 'provisioning accepted after a top-up: debited, ledger entry, job completed',
    needs: 'provisioning refused at zero balance (402, nothing debited)',
    run: async (w) => {
      await topUp(w.orgId, w.price, `acc-topup-price-${w.orgId}`);
      const r = await call('POST', '/api/managed-telephony/provision', { ...w.dash, 'idempotency-key': `acc-buy-${w.orgId}` }, { areaCode: '415', assistantId: ASSISTANT_ID });
      check(r.status === 202, `expected 202, got ${show(r)}`);
      check(r.body.status === 'queued' && r.body.charged === w.price && r.body.balance === 0, `202 body: ${show(r)}`);
      check((await balanceOf(w.dash)) === 0, 'wallet balance is not price - price');
      const debit = (await allEntries(w.dash)).find((e) => e.kind === 'phone_number');
      check(debit && debit.amount === -w.price, `no phone_number entry of -${w.price}`);
      const done = await waitForFinal(w.dash, r.body.requestId as string, 'completed');
      check(typeof done.phoneNumber === 'string' && /^\+[1-9]\d{6,14}$/.test(done.phoneNumber), `completed without an E.164 number: ${JSON.stringify(done)}`);
      check(done.refunded === 0, `completed request shows a refund: ${JSON.stringify(done)}`);
      w.phoneNumber = done.phoneNumber;
    },
  },
  {
    name: 'call gate refuses at zero balance with a spoken error (HTTP 200)',
    needs: 'provisioning accepted after a top-up: debited, ledger entry, job completed',
    run: async (w) => {
      const r = await call('POST', '/api/vapi/webhook', vapi, assistantRequest(`acc-refused-${randomUUID()}`, w.phoneNumber as string));
      check(r.status === 200, `expected 200, got ${show(r)}`);
      check(typeof r.body.error === 'string' && r.body.error.length > 0, `no spoken error: ${show(r)}`);
      check(r.body.assistantId === undefined, `an assistant was handed out: ${show(r)}`);
    },
  },
  {
    name: 'call gate allows after a top-up',
    needs: 'call gate refuses at zero balance with a spoken error (HTTP 200)',
    run: async (w) => {
      await topUp(w.orgId, 5000, `acc-topup-calls-${w.orgId}`);
      const r = await call('POST', '/api/vapi/webhook', vapi, assistantRequest(`acc-allowed-${w.orgId}`, w.phoneNumber as string));
      check(r.status === 200 && r.body.assistantId === ASSISTANT_ID, `expected the assistant, got ${show(r)}`);
      const overrides = r.body.assistantOverrides as { maxDurationSeconds?: number; metadata?: { orgId?: string } } | undefined;
      const max = overrides?.maxDurationSeconds;
      check(Number.isInteger(max) && (max as number) >= 10 && (max as number) <= 43200, `maxDurationSeconds: ${show(r)}`);
      check(overrides?.metadata?.orgId === w.orgId, `metadata.orgId: ${show(r)}`);
    },
  },
  {
    name: 'a call is billed once although its report arrives twice',
    needs: 'call gate allows after a top-up',
    run: async (w) => {
      const callId = `acc-allowed-${w.orgId}`;
      const started = new Date(Date.now() - CALL_SECONDS * 1000 - 5000);
      const report = {
        message: {
          type: 'end-of-call-report',
          endedReason: 'customer-ended-call',
          call: { id: callId, type: 'inboundPhoneCall' },
          phoneNumber: { number: w.phoneNumber },
          startedAt: started.toISOString(),
          endedAt: new Date(started.getTime() + CALL_SECONDS * 1000).toISOString(),
          durationSeconds: CALL_SECONDS,
        },
      };
      for (let i = 0; i < 2; i++) {
        const r = await call('POST', '/api/vapi/webhook', vapi, report);
        check(r.status === 200, `report ${i + 1}: ${show(r)}`);
      }
      const expected = Math.ceil((CALL_SECONDS * CALL_RATE_PER_MINUTE) / 60);
      await eventually(async () => (await allEntries(w.dash)).some((e) => e.kind === 'call'), { what: 'the call charge', timeoutMs: CALL_CHARGE_TIMEOUT_MS, everyMs: POLL_INTERVAL_MS });
      await sleep(DUPLICATE_CHARGE_WINDOW_MS);
      const calls = (await allEntries(w.dash)).filter((e) => e.kind === 'call');
      check(calls.length === 1, `expected one call entry, found ${calls.length}`);
      check(calls[0]?.amount === -expected, `call charged ${calls[0]?.amount}, expected -${expected} (${CALL_SECONDS} s at ${CALL_RATE_PER_MINUTE}/min)`);
    },
  },
  {
    name: 'provisioning refunded on the failing area code 000',
    needs: 'provisioning refused at zero balance (402, nothing debited)',
    run: async (w) => {
      await topUp(w.orgId, w.price, `acc-topup-refund-${w.orgId}`);
      const before = await balanceOf(w.dash);
      const r = await call('POST', '/api/managed-telephony/provision', { ...w.dash, 'idempotency-key': `acc-000-${w.orgId}` }, { areaCode: '000', assistantId: ASSISTANT_ID });
      check(r.status === 202 && r.body.balance === before - w.price, `expected 202 with the debit, got ${show(r)}`);
      const done = await waitForFinal(w.dash, r.body.requestId as string, 'refunded');
      check(done.refunded === w.price && done.phoneNumber === null, `refunded body: ${JSON.stringify(done)}`);
      check((await balanceOf(w.dash)) === before, 'balance not restored by the refund');
      const refunds = (await allEntries(w.dash)).filter((e) => e.kind === 'phone_number_refund');
      check(refunds.length === 1 && refunds[0]?.amount === w.price, `expected one refund entry of ${w.price}, found ${JSON.stringify(refunds)}`);
    },
  },
  {
    name: 'operator surfaces answer (/metrics, /admin/queues, /openapi.json) and refuse strangers',
    run: async () => {
      for (const path of ['/metrics', '/admin/queues', '/admin/queues/api/queues']) {
        const res = await fetch(`${BASE}${path}`, { headers: admin, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
        check(res.status === 200, `${path} with the operator token: ${res.status}`);
        const text = await res.text();
        if (path === '/metrics') check(text.includes('billing_gates_queue_jobs{'), '/metrics has no queue gauges');
        const anonymous = await fetch(`${BASE}${path}`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
        check(anonymous.status === 401, `${path} without credentials: ${anonymous.status}`);
        await anonymous.arrayBuffer();
      }
      const spec = await call('GET', '/openapi.json', {});
      check(spec.status === 200 && spec.body.openapi === '3.1.0', `/openapi.json: ${show(spec)}`);
    },
  },
  {
    name: 'the ledger adds up (balance == sum of entries, each entry chains)',
    run: async (w) => {
      const entries = await allEntries(w.dash);
      const balance = await balanceOf(w.dash);
      check(entries.reduce((s, e) => s + e.amount, 0) === balance, 'balance != sum(entries)');
      for (const e of entries) check(e.balanceAfter === e.balanceBefore + e.amount, `entry ${e.id} does not chain`);
    },
  },
];

async function main(): Promise<number> {
  process.stdout.write(`billing-gates acceptance against ${BASE}\n`);
  const passed = new Set<string>();
  let failures = 0;
  const world: World = { orgId: '', dash: {}, price: 0 };
  try {
    const org = await call('POST', '/api/admin/orgs', admin, { name: `acceptance ${new Date().toISOString()}` });
    check(org.status === 201, `create org: ${show(org)}`);
    world.orgId = org.body.orgId as string;
    world.dash = await dashboardFor(world.orgId);
    process.stdout.write(`PASS  create an organisation (${world.orgId})\n`);
  } catch (err) {
    process.stdout.write(`FAIL  create an organisation: ${(err as Error).message}\n\n0 passed, ${phases.length + 1} failed\n`);
    return 1;
  }
  for (const phase of phases) {
    if (phase.needs && !passed.has(phase.needs)) {
      failures++;
      process.stdout.write(`SKIP  ${phase.name} (needs: ${phase.needs}) — counted as a failure\n`);
      continue;
    }
    const t0 = Date.now();
    try {
      await phase.run(world);
      passed.add(phase.name);
      process.stdout.write(`PASS  ${phase.name} (${Date.now() - t0} ms)\n`);
    } catch (err) {
      failures++;
      const message = err instanceof Failure || err instanceof NotReachedError ? err.message : `${(err as Error).name}: ${(err as Error).message}`;
      process.stdout.write(`FAIL  ${phase.name}: ${message}\n`);
    }
  }
  process.stdout.write(`\n${passed.size + 1} passed, ${failures} failed\n`);
  return failures === 0 ? 0 : 1;
}

main().then(
  (code) => endProcess(code),
  (err: unknown) => {
    process.stderr.write(`acceptance run crashed: ${(err as Error).message}\n`);
    endProcess(2);
  },
);
