// (f) One hot wallet under many concurrent debits: through the WalletService (typed zod wrapper,
// Redis write-through with the version guard, metrics) vs the same SQL function called directly
// on a pool of the same size at the same concurrency. Every debit serialises on the wallet row
// lock, so both sides are bound by Postgres; the target is that our code adds ≤ 30% on top.
import { baselinePool, fundedOrg } from '../lib/fixtures';
import { runLoopLoad } from '../lib/loop-load';
import type { Scenario } from '../lib/types';
import { createWorld } from '../lib/world';

const DEBIT = 1000;

export const scenario: Scenario = {
  name: 'f-hot-wallet',
  title: 'one hot wallet, concurrent debits: WalletService vs direct SQL',
  target: { minThroughputRatio: 0.7, text: '≥ 70% of direct SQL' },
  async run(settings, progress) {
    const world = await createWorld({ logLevel: settings.BENCH_LOG_LEVEL });
    const pool = baselinePool(world.databaseUrl);
    try {
      // Enough for every debit either side could make in the run at ~10k/s.
      const orgId = await fundedOrg(world.services, 10);
      const common = { concurrency: settings.BENCH_CONCURRENCY, durationSeconds: settings.BENCH_DURATION_SECONDS };
      const baseline = await runLoopLoad(
        {
          ...common,
          label: 'direct SQL',
          op: async (i) => {
            const r = await pool.query<{ r: { outcome: string } }>(
              'select public.wallet_debit_for_purchase(p_org_id => $1, p_amount => $2, p_idempotency_key => $3, p_reference => $4) as r',
              [orgId, DEBIT, `sql-${i}`, 'bench'],
            );
            if (r.rows[0]?.r.outcome !== 'debited') throw new Error(`debit ${r.rows[0]?.r.outcome}`);
          },
        },
        progress,
      );
      const subject = await runLoopLoad(
        {
          ...common,
          label: 'WalletService',
          op: async (i) => {
            const r = await world.services.wallet.debitForPurchase({ orgId, amount: DEBIT, idempotencyKey: `svc-${i}`, reference: 'bench' });
            if (r.outcome !== 'debited') throw new Error(`debit ${r.outcome}`);
          },
        },
        progress,
      );
      return {
        subject,
        baseline,
        notes: [`concurrency ${settings.BENCH_CONCURRENCY}, pool max 10 on both sides, debit ${DEBIT} per call`],
      };
    } finally {
      await pool.end();
      await world.close();
    }
  },
};
