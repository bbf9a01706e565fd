// Proves Bull Board at /admin/queues is behind operator auth (bearer ADMIN_TOKEN or basic auth as
// "admin"), lists every queue of this deployment, refuses destructive actions (read-only), and
// shows job data only through the id allowlist, against real Redis queues with real jobs.
import request from 'supertest';
import { redactJobData, REDACTED } from '../../api/routes/bull-board';
import { createTestContext, TEST_ADMIN_TOKEN, type TestContext } from '../support/context';

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('Bull Board at /admin/queues', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext();
  });
  afterAll(async () => {
    await Promise.all(ctx.services.queues.all().map((q) => q.obliterate({ force: true }).catch(() => undefined)));
    await ctx.close();
  });

  describe('security', () => {
    it('refuses anonymous requests with 401, a JSON error and a basic-auth challenge', async () => {
      const res = await request(ctx.app()).get('/admin/queues');
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('unauthorized');
      expect(res.headers['www-authenticate']).toMatch(/^Basic realm=/);
      const api = await request(ctx.app()).get('/admin/queues/api/queues');
      expect(api.status).toBe(401);
    });

    it('refuses a wrong bearer, a wrong basic password and a basic user other than admin', async () => {
      for (const auth of ['Bearer nope-nope-nope', basic('admin', 'wrong-password'), basic('root', TEST_ADMIN_TOKEN), `Basic ${TEST_ADMIN_TOKEN}`]) {
        const res = await request(ctx.app()).get('/admin/queues/api/queues').set('Authorization', auth);
        expect(res.status).toBe(401);
      }
    });
  });

  describe('happy path', () => {
    it('serves the board as HTML to basic auth admin:ADMIN_TOKEN', async () => {
      const res = await request(ctx.app()).get('/admin/queues').set('Authorization', basic('admin', TEST_ADMIN_TOKEN));
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/text\/html/);
      expect(res.text).toContain('billing-gates');
    });

    it('serves the board to the operator bearer token', async () => {
      const res = await request(ctx.app()).get('/admin/queues').set('Authorization', `Bearer ${TEST_ADMIN_TOKEN}`);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/text\/html/);
    });

    it('lists every queue of the deployment, read-only, in its JSON API', async () => {
      const res = await request(ctx.app()).get('/admin/queues/api/queues').set('Authorization', `Bearer ${TEST_ADMIN_TOKEN}`);
      expect(res.status).toBe(200);
      const listed = (res.body.queues as Array<{ name: string; readOnlyMode: boolean }>).map((q) => [q.name, q.readOnlyMode]);
      const expected = ctx.services.queues.all().map((q) => [q.name, true]);
      expect(listed.sort()).toEqual(expected.sort());
      expect(listed.map(([n]) => n)).toEqual(expect.arrayContaining(['provisioning', 'refunds', 'call-billing', 'maintenance']));
    });
  });

  describe('read-only and redaction', () => {
    it('shows a queued job with its ids and redacts everything else', async () => {
      const q = ctx.services.queues.provisioning;
      // A payload that (wrongly) carries personal data: the board must not show it.
      await q.add('provision', { requestId: 'req-visible-1', callerNumber: '+447700900123', nested: { email: 'a@b.c' } } as never, { jobId: 'provision-req-visible-1', delay: 60_000 });
      const res = await request(ctx.app())
        .get('/admin/queues/api/queues?activeQueue=provisioning&status=delayed&page=1&jobsPerPage=10')
        .set('Authorization', `Bearer ${TEST_ADMIN_TOKEN}`);
      expect(res.status).toBe(200);
      const queue = (res.body.queues as Array<{ name: string; jobs: Array<{ id: string; data: unknown }> }>).find((x) => x.name === 'provisioning');
      const job = queue?.jobs.find((j) => j.id === 'provision-req-visible-1');
      expect(job?.data).toEqual({ requestId: 'req-visible-1', callerNumber: REDACTED, nested: { email: REDACTED } });
      expect(JSON.stringify(res.body)).not.toContain('+447700900123');
    });

    it('refuses to clean, pause or retry a queue (405) and leaves its jobs in place', async () => {
      const q = ctx.services.queues.refunds;
      await q.add('refund', { requestId: 'req-keep' }, { jobId: 'refund-req-keep', delay: 60_000 });
      const auth = { Authorization: `Bearer ${TEST_ADMIN_TOKEN}` };
      const clean = await request(ctx.app()).put('/admin/queues/api/queues/refunds/clean/delayed').set(auth);
      expect(clean.status).toBe(405);
      const promote = await request(ctx.app()).put('/admin/queues/api/queues/refunds/promote').set(auth);
      expect(promote.status).toBe(405);
      expect(await q.getJobState('refund-req-keep')).toBe('delayed');
    });
  });

  describe('redactJobData', () => {
    it('keeps allowlisted scalars and redacts other keys, long strings and deep nesting', () => {
      expect(redactJobData({ requestId: 'r1', callId: 'c1', task: 'sweep-calls', token: 'secret', phone: '+15550100' })).toEqual({
        requestId: 'r1',
        callId: 'c1',
        task: 'sweep-calls',
        token: REDACTED,
        phone: REDACTED,
      });
      expect(redactJobData({ requestId: 'x'.repeat(500) })).toEqual({ requestId: REDACTED });
      expect(redactJobData({ a: { b: { c: { d: { e: { requestId: 'deep' } } } } } })).toEqual({ a: { b: { c: { d: REDACTED } } } });
      expect(redactJobData('a bare string')).toBe(REDACTED);
      expect(redactJobData(null)).toBeNull();
    });
  });
});
