// A wallet event's webhook survives the loss of its delivery job. The outbox row that queues the
// job stays open until the job has finished: the relay looks at it again once a lease has passed,
// queues the job again if Redis no longer has it, and marks the row done only when the job is
// completed (or failed for good). Before, the row was done as soon as the job was queued, and a
// job Redis lost (a restart without persistence, an eviction) lost the customer's webhook.
// Real Postgres and Redis, the worker process's relay and money-in workers, a real HTTP receiver.
import express from 'express';
import request from 'supertest';
import { listenLocal, type Listening } from '../../sandbox/listen';
import { jobIds } from '../../shared/queues/queues';
import { relayOutbox } from '../../workers/money-in-worker';
import { eventually } from '../support/eventually';
import { createStripeWorld, type StripeWorld } from '../support/stripe';

let w: StripeWorld;
let receiver: Listening;
const received: string[] = [];

beforeAll(async () => {
  w = await createStripeWorld({ workers: false, env: { MONEY_OUTBOX_LEASE_SECONDS: '1' } });
  const app = express();
  app.post('/hook', express.text({ type: '*/*' }), (req, res) => {
    received.push(String(req.body));
    res.status(204).end();
  });
  receiver = await listenLocal(app);
});
afterAll(async () => {
  await receiver.close();
  await w.close();
});

const outboxRow = async (eventId: number) =>
  (await w.ctx.pool.query<{ done: boolean }>("select done_at is not null as done from money_outbox where task = 'deliver_event' and event_id = $1", [eventId])).rows[0];

it('queues a lost delivery job again and delivers the event once; the outbox row is done only then', async () => {
  const { orgId, token } = await w.org(3000);
  const put = await request(w.ctx.app()).put('/api/wallet/alerts').set('authorization', `Bearer ${token}`).send({ thresholds: [2000], webhookUrl: `${receiver.url}/hook` });
  expect(put.status).toBe(200);
  await w.ctx.services.store.chargeCall({ orgId, callId: `lost-job-${orgId}`, amount: 1500, reference: 'step' });
  const events = await w.ctx.pool.query<{ id: string }>("select id from wallet_events where org_id = $1 and type = 'balance.low'", [orgId]);
  expect(events.rows).toHaveLength(1);
  const eventId = Number(events.rows[0]!.id);

  // The relay queues the delivery; the row stays open while the job has not run.
  await relayOutbox(w.ctx.services);
  const job = await w.ctx.services.queues.walletEvents.getJob(jobIds.walletEvent(eventId));
  expect(job?.data).toEqual({ eventId, outboxId: expect.any(Number) });
  expect(await outboxRow(eventId)).toEqual({ done: false });

  // Redis loses it before any worker ran it.
  await job!.remove();

  // The worker process starts: its relay finds the row due again after the lease, the job gone.
  await w.startWorkers();
  await eventually(async () => (received.length === 1 ? true : undefined), { what: 'the event delivered', timeoutMs: 10_000 });
  await eventually(async () => ((await outboxRow(eventId))?.done ? true : undefined), { what: 'the outbox row done' });
  expect(JSON.parse(received[0]!)).toMatchObject({ id: String(eventId), type: 'balance.low', data: { orgId, threshold: 2000 } });
  const m = await w.ctx.services.metrics.registry.metrics();
  expect(m).toMatch(/billing_gates_money_outbox_retries_total\{task="deliver_event",reason="job_lost"\} [1-9]/);

  // Done means done: more relay passes, after more leases, deliver nothing again.
  await new Promise((r) => setTimeout(r, 2500));
  await relayOutbox(w.ctx.services);
  expect(received).toHaveLength(1);
});
