// Proves the in-process number cache's staleness bound against real Redis and Postgres (explicit
// clock, no waiting): within the local window (NUMBER_LOCAL_CACHE_MS in production) of a read, a number resolves from process
// memory without asking Redis or Postgres (so a release is not seen yet); from that moment on it
// is asked again and the release is seen; with the window at 0 every resolution asks the stores.
import { createNumberResolver } from '../../shared/calls/number-resolver';
import { createTestContext, createFundedOrg, type TestContext } from '../support/context';
import { registerNumber } from '../support/vapi';

describe('number resolver: in-process cache', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext();
  });
  afterAll(async () => ctx.close());

  function resolver(localCacheMs: number, clock: { t: number }) {
    return createNumberResolver({
      redis: ctx.services.redis,
      keys: ctx.services.keys,
      store: ctx.services.calls.store,
      ttlSeconds: 300,
      localCacheMs,
      redisTimeoutMs: 1000,
      databaseTimeoutMs: 2000,
      nowMs: () => clock.t,
      onRedisFailure: () => undefined,
    });
  }

  async function releaseEverywhere(vapiPhoneNumberId: string): Promise<void> {
    await ctx.pool.query("update phone_numbers set released_at = now(), status = 'released' where vapi_phone_number_id = $1", [vapiPhoneNumberId]);
    await ctx.services.redis.del(ctx.services.keys.number(`id:${vapiPhoneNumberId}`));
  }

  it('answers from memory within the window, and asks the stores again once it has passed', async () => {
    const orgId = await createFundedOrg(ctx.services, 10_000);
    const num = await registerNumber(ctx.services, orgId);
    const clock = { t: 1_000_000 };
    const numbers = resolver(2000, clock);
    const lookup = { vapiPhoneNumberId: num.vapiPhoneNumberId, e164: num.e164 };

    expect(await numbers.resolve(lookup)).toMatchObject({ kind: 'found', source: 'database', number: { orgId, assistantId: num.assistantId } });
    await releaseEverywhere(num.vapiPhoneNumberId);

    clock.t += 1999;
    expect(await numbers.resolve(lookup)).toMatchObject({ kind: 'found', source: 'memory', redisFailed: false, number: { orgId } });
    clock.t += 1;
    expect(await numbers.resolve(lookup)).toMatchObject({ kind: 'not_found' });
  });

  it('asks the stores on every resolution when the window is 0', async () => {
    const orgId = await createFundedOrg(ctx.services, 10_000);
    const num = await registerNumber(ctx.services, orgId);
    const numbers = resolver(0, { t: 1_000_000 });
    const lookup = { vapiPhoneNumberId: num.vapiPhoneNumberId, e164: num.e164 };

    expect(await numbers.resolve(lookup)).toMatchObject({ kind: 'found', source: 'database' });
    expect(await numbers.resolve(lookup)).toMatchObject({ kind: 'found', source: 'cache' });
    await releaseEverywhere(num.vapiPhoneNumberId);
    expect(await numbers.resolve(lookup)).toMatchObject({ kind: 'not_found' });
  });
});
