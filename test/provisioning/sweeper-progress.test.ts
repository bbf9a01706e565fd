// Proves failure mode 29 for the provisioning sweeper: failed requests whose refund jobs sit far
// in their backoff (e.g. after a Twilio outage) are older than anything else and cannot be
// finished now; they must not keep the sweeper from a request whose job was lost. Real Postgres
// and Redis, the real queues; no workers, so what the sweep did stays visible in Redis.
import { createFundedOrg } from '../support/context';
import { expectLedgerConsistent } from '../support/invariants';
import { createProvisioningWorld, requestWithoutJob, type ProvisioningWorld } from '../support/provisioning';
import { sweepProvisioning } from '../../workers/provisioning-sweeper';
import { jobIds, moneyJobOptions } from '../../shared/queues/queues';

const STUCK = 500;

describe('provisioning sweeper progress', () => {
  let w: ProvisioningWorld;
  beforeAll(async () => {
    w = await createProvisioningWorld({ PHONE_NUMBER_PRICE: '10' }, { workers: false });
  });
  afterEach(async () => expectLedgerConsistent(w.ctx.pool));
  afterAll(async () => w.close());

  it('re-queues a request whose job was lost within one sweep, behind 500 failed requests whose refund jobs are far in their backoff', async () => {
    const s = w.ctx.services;
    const orgId = await createFundedOrg(s, 10 * (STUCK + 1));
    const ids: string[] = [];
    for (let i = 0; i < STUCK; i++) ids.push(await requestWithoutJob(w, orgId, `stuck-${i}`));
    for (const id of ids) expect((await s.provisioning.markFailed(id, 'Twilio outage')).outcome).toBe('failed');
    // Each refund job exists and is delayed an hour: alive, nothing for the sweeper to repair.
    await s.queues.refunds.addBulk(ids.map((id) => ({ name: 'refund', data: { requestId: id }, opts: { ...moneyJobOptions(jobIds.refund(id)), delay: 3_600_000 } })));
    // They failed long ago: the oldest rows by any "last changed" order.
    await w.ctx.pool.query("update provisioning_requests set updated_at = now() - interval '2 hours' where status = 'failed'");
    const lost = await requestWithoutJob(w, orgId, 'job-lost');

    const first = await sweepProvisioning(s);
    expect(first.requeued).toBe(1);
    expect(await (await s.queues.provisioning.getJob(jobIds.provisioning(lost)))?.getState()).toBe('waiting');
    // The 500 were looked at and put off: the next sweep does not spend itself on them again.
    const second = await sweepProvisioning(s);
    expect(second.examined).toBeLessThan(STUCK);
    expect(second.refundsRequeued).toBe(0);
  }, 120_000);
});
