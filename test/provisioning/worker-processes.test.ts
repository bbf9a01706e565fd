// Proves that real worker processes lose neither jobs nor money when they die or are stopped
// mid-purchase. The workers run as separate OS processes (`node --import tsx
// bin/launch.ts workers`: one process, so a signal reaches the worker itself, not an
// npx/tsx wrapper), against this file's database, Redis prefix and simulators. The simulator's
// purchase latency opens the window; the test kills or stops the process inside it.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createFundedOrg, testEnv } from '../support/context';
import { eventually } from '../support/eventually';
import { expectLedgerConsistent } from '../support/invariants';
import { balanceOf, createProvisioningWorld, numbersNamed, provision, simulatorEnv, waitForRequest, type ProvisioningWorld } from '../support/provisioning';

jest.setTimeout(90_000);

const ROOT = path.resolve(__dirname, '../..');
/** Long enough that a signal lands while the purchase is in flight. */
const PURCHASE_LATENCY_MS = 1500;
/** Short job locks so a killed worker's job is found stalled within seconds. */
const JOB_LOCK_MS = '2000';

interface WorkerProcess {
  child: ChildProcess;
  output: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startWorkerProcess(w: ProvisioningWorld): Promise<WorkerProcess> {
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    ...testEnv(w.ctx.databaseUrl, w.ctx.config.redis.keyPrefix, {
      ...simulatorEnv(w.twilio, w.vapi),
      PROVISION_BACKOFF_MS: '50',
      PROVISION_MAX_ATTEMPTS: '5',
      JOB_LOCK_DURATION_MS: JOB_LOCK_MS,
      SWEEP_INTERVAL_MS: '500',
      SHUTDOWN_DEADLINE_MS: '20000',
      LOG_LEVEL: 'info',
    }),
  };
  const child = spawn(process.execPath, ['--import', 'tsx', 'bin/launch.ts', 'workers'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker process did not start:\n${output.join('')}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output.push(chunk.toString());
      if (output.join('').includes('workers started')) {
        clearTimeout(timer);
        resolve({ child, output, exited });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (c: Buffer) => output.push(c.toString()));
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`worker process exited (${code}) before starting:\n${output.join('')}`));
    });
  });
}

async function purchaseInFlight(w: ProvisioningWorld, requestId: string): Promise<void> {
  await eventually(async () => w.twilio.purchaseRequests.has(requestId), { what: 'a purchase asked for', timeoutMs: 30_000, everyMs: 10 });
}

describe('real worker processes', () => {
  let w: ProvisioningWorld;
  const started: WorkerProcess[] = [];
  beforeAll(async () => {
    w = await createProvisioningWorld({}, { workers: false });
    w.twilio.faults.purchaseLatencyMs = PURCHASE_LATENCY_MS;
  });
  afterEach(async () => expectLedgerConsistent(w.ctx.pool));
  afterAll(async () => {
    for (const p of started) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await Promise.all(started.map((p) => p.exited));
    await w.close();
  });

  it('SIGKILL in the middle of a purchase: the request still ends completed with one number, or refunded once', async () => {
    const first = await startWorkerProcess(w);
    started.push(first);
    const orgId = await createFundedOrg(w.ctx.services, 1000);
    const res = await provision(w.ctx, orgId, 'kill-mid-purchase', { areaCode: '415' });
    expect(res.status).toBe(202);
    const id = res.body.requestId as string;
    await purchaseInFlight(w, id);
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');

    // A fresh worker finds the dead worker's job stalled and runs it again.
    started.push(await startWorkerProcess(w));
    const final = await waitForRequest(w.ctx, orgId, id, { timeoutMs: 60_000 });
    const bought = await numbersNamed(w.twilio, id);
    const refunds = await w.ctx.pool.query("select count(*)::int as n from ledger_entries where org_id = $1 and kind = 'phone_number_refund'", [orgId]);
    if (final.status === 'completed') {
      expect(bought.map((n) => n.phone_number)).toEqual([final.phoneNumber]);
      expect(refunds.rows[0].n).toBe(0);
      expect(await balanceOf(w.ctx, orgId)).toBe(0);
    } else {
      expect(final.status).toBe('refunded');
      expect(bought).toEqual([]);
      expect(refunds.rows[0].n).toBe(1);
      expect(await balanceOf(w.ctx, orgId)).toBe(1000);
    }
    expect(Number(final.attempts)).toBeGreaterThanOrEqual(2);
  });

  it('SIGTERM in the middle of a job: the worker finishes it before exiting, losing neither job nor money', async () => {
    for (const p of started) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await Promise.all(started.map((p) => p.exited));
    const worker = await startWorkerProcess(w);
    started.push(worker);
    const orgId = await createFundedOrg(w.ctx.services, 1000);
    const res = await provision(w.ctx, orgId, 'term-mid-job', { areaCode: '212' });
    const id = res.body.requestId as string;
    await purchaseInFlight(w, id);
    worker.child.kill('SIGTERM');
    const exit = await worker.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    // No other worker runs: what the stopped process finished is all there is.
    const row = await w.ctx.pool.query('select status, attempts, phone_number from provisioning_requests where id = $1', [id]);
    expect(row.rows[0]).toMatchObject({ status: 'completed', attempts: 1 });
    const bought = await numbersNamed(w.twilio, id);
    expect(bought.map((n) => n.phone_number)).toEqual([row.rows[0].phone_number]);
    expect(await balanceOf(w.ctx, orgId)).toBe(0);
    const job = await w.ctx.services.queues.provisioning.getJob(`provision-${id}`);
    expect(await job?.getState()).toBe('completed');
  });
});
