// (a) The call gate on its fast path: assistant-request answered from the Redis cache, through
// the real app (auth, parsing, number lookup, balance, holds, metrics), vs a bare express route
// with the same JSON parser answering the same payload with a constant. Both run as child
// processes; autocannon drives them from this one with the same connections and request bodies.
import { assistantRequestRewriter, expectAdmitted, gateNumbers, webhookHeaders } from '../lib/call-gate';
import { runHttpLoad } from '../lib/http-load';
import type { Scenario } from '../lib/types';
import { createWorld, startChild } from '../lib/world';

export const scenario: Scenario = {
  name: 'a-assistant-request',
  title: 'assistant-request from the Redis cache vs a constant express route',
  target: { minThroughputRatio: 0.85, maxP99Ratio: 1.5, text: '≥ 85% and p99 ≤ 1.5×' },
  async run(settings, progress) {
    const world = await createWorld({ logLevel: settings.BENCH_LOG_LEVEL });
    const bare = await startChild('bare', world.env);
    const app = await startChild('app', world.env).catch(async (err: unknown) => {
      await bare.stop();
      throw err;
    });
    try {
      const numbers = await gateNumbers(world.services, settings.BENCH_GATE_ORGS);
      for (const n of numbers) await expectAdmitted(app.url, n); // warms the cache for every number
      const load = { connections: settings.BENCH_CONNECTIONS, durationSeconds: settings.BENCH_DURATION_SECONDS, headers: webhookHeaders };
      const baseline = await runHttpLoad({ ...load, label: 'bare express', url: `${bare.url}/api/vapi/webhook`, setupRequest: assistantRequestRewriter(numbers, 'bare') }, progress);
      const subject = await runHttpLoad({ ...load, label: 'call gate (cache)', url: `${app.url}/api/vapi/webhook`, setupRequest: assistantRequestRewriter(numbers, 'gate') }, progress);
      return {
        subject,
        baseline,
        notes: [`${numbers.length} organisations, one number each, a new call id per request; ${settings.BENCH_CONNECTIONS} connections`],
      };
    } finally {
      await Promise.allSettled([app.stop(), bare.stop()]);
      await world.close();
    }
  },
};
