// Bench fixtures, made through the real services (as an operator would).
import { createPool } from '../../shared/db/pool';
import type { Services } from '../../shared/process/services';
import type { Pool } from 'pg';

/** The largest single top-up the service accepts; scenarios credit in steps of it. */
export const MAX_TOPUP = 100_000_000;

export async function fundedOrg(services: Services, topups = 1, name = 'Bench Org'): Promise<string> {
  const org = await services.store.createOrg({ name, currency: services.config.pricing.currency });
  if (org.outcome !== 'created') throw new Error('bench org not created');
  for (let i = 0; i < topups; i++) {
    const r = await services.wallet.credit({ orgId: org.org_id, amount: MAX_TOPUP, idempotencyKey: `bench-fund-${i}`, fingerprint: 'b'.repeat(64), reason: 'bench funding' });
    if (r.outcome !== 'credited') throw new Error(`bench funding failed: ${r.outcome}`);
  }
  return org.org_id;
}

/** A pool like the service's own (shared/db/pool.ts defaults), for the direct-SQL baselines. */
export function baselinePool(databaseUrl: string): Pool {
  return createPool(databaseUrl);
}
