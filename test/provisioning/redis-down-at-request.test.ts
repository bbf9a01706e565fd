// Proves that money is never lost between the debit and the queue (CONTRACT §3, failure mode 12):
// an API whose Redis URL points at a closed port still answers 202 quickly (the debit and the
// durable request row are in Postgres), and the request completes later because the sweeper,
// running with a working Redis under the same key prefix, queues it.
import request from 'supertest';
import { createApp } from '../../api/app';
import { loadConfig } from '../../shared/config';
import { createLogger } from '../../shared/logger';
import { createMetrics } from '../../shared/metrics';
import { createServices, type Services } from '../../shared/process/services';
import { createRedis } from '../../shared/redis';
import { sweepProvisioning } from '../../workers/provisioning-sweeper';
import { createFundedOrg, testEnv } from '../support/context';
import { expectLedgerConsistent } from '../support/invariants';
import { authHeader, balanceOf, createProvisioningWorld, simulatorEnv, waitForRequest, type ProvisioningWorld } from '../support/provisioning';

/** A port nothing listens on (the discard port; connections are refused). */
const CLOSED_REDIS_URL = 'redis://127.0.0.1:9';

describe('Redis unreachable when a provision is accepted', () => {
  let w: ProvisioningWorld;
  let down: Services;
  beforeAll(async () => {
    // No workers yet: their provisioning sweep would queue the request before the test looks.
    w = await createProvisioningWorld({}, { workers: false });
    const config = loadConfig(testEnv(w.ctx.databaseUrl, w.ctx.config.redis.keyPrefix, { ...simulatorEnv(w.twilio, w.vapi), REDIS_URL: CLOSED_REDIS_URL }));
    down = createServices(config, { log: createLogger('silent'), metrics: createMetrics(), redis: createRedis({ url: CLOSED_REDIS_URL }, 'fail-fast', 'down') });
  });
  afterEach(async () => expectLedgerConsistent(w.ctx.pool));
  afterAll(async () => {
    await down.close();
    // quit() cannot reach a Redis that never answered; stop its reconnect loop outright.
    down.redis.disconnect();
    await w.close();
  });

  it('answers 202, keeps the money safe, and completes the request through the sweeper', async () => {
    const orgId = await createFundedOrg(w.ctx.services, 1000);
    const res = await request(createApp(down))
      .post('/api/managed-telephony/provision')
      .set(await authHeader(orgId))
      .set('Idempotency-Key', 'redis-down')
      .send({ areaCode: '415' });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: 'queued', charged: 1000, balance: 0 });
    const fallbacks = await down.metrics.registry.getSingleMetric('billing_gates_fallbacks_total')?.get();
    expect(fallbacks?.values.find((v) => v.labels.reason === 'enqueue_failed')?.value).toBe(1);
    const id = res.body.requestId as string;
    expect(await w.ctx.services.queues.provisioning.getJob(`provision-${id}`)).toBeUndefined();

    const report = await sweepProvisioning(w.ctx.services);
    expect(report.requeued).toBe(1);
    await w.startWorkers();
    const final = await waitForRequest(w.ctx, orgId, id);
    expect(final).toMatchObject({ status: 'completed', attempts: 1, charged: 1000, refunded: 0 });
    expect(await balanceOf(w.ctx, orgId)).toBe(0);
  });
});
