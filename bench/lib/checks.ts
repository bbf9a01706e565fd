// What a call-gate scenario checks after its load, so that a faster gate can never buy its speed
// by losing something (issue 15): every admitted call has its hold, and every wallet still
// satisfies its invariants — the ledger's (balance = Σ entries, each entry continuing the last)
// and the gate's (the live holds never exceed the balance, in Postgres and in Redis). A failed
// check is a note starting "CHECK FAILED", a warning line, and a non-zero exit of the run.
import { ledgerViolations } from '../../test/support/invariants';
import type { BenchWorld } from './world';

export interface CheckResult {
  ok: boolean;
  note: string;
}

export function check(ok: boolean, what: string): CheckResult {
  return { ok, note: ok ? `check ok: ${what}` : `CHECK FAILED: ${what}` };
}

/** Ledger invariants of every wallet, and Σ live holds ≤ balance per organisation in Postgres (and in Redis when `redis`). */
export async function walletChecks(world: BenchWorld, orgIds: string[], options: { redis: boolean }): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  const ledger = await ledgerViolations(world.pool);
  out.push(check(ledger.length === 0, `ledger invariants of every wallet${ledger.length ? `: ${ledger.slice(0, 3).join('; ')}` : ''}`));
  const over = await world.count(
    `select count(*) from (
       select w.org_id from wallets w join calls c on c.org_id = w.org_id
        where w.org_id = any($1::uuid[]) and c.hold_state = 'held' and c.settled_at is null and c.hold_expires_at > now()
        group by w.org_id, w.balance having sum(c.hold_amount) > w.balance) x`,
    [orgIds],
  );
  out.push(check(over === 0, `Postgres: live holds ≤ balance for all ${orgIds.length} organisations (${over} over)`));
  if (options.redis) {
    const { hot } = world.services.calls;
    const { redis, keys } = world.services;
    let redisOver = 0;
    for (const orgId of orgIds) {
      const [held, balance] = await Promise.all([hot.held(orgId), redis.hget(keys.wallet(orgId), 'balance')]);
      if (balance !== null && held > Number(balance)) redisOver++;
    }
    out.push(check(redisOver === 0, `Redis: held ≤ cached balance for all ${orgIds.length} organisations (${redisOver} over)`));
  }
  return out;
}

/** Notes for the result; failures also printed now and make the run exit non-zero. */
export function reportChecks(results: CheckResult[], progress: (line: string) => void): string[] {
  for (const r of results) {
    if (!r.ok) {
      progress(`WARNING ${r.note}`);
      process.exitCode = 1;
    }
  }
  return results.map((r) => r.note);
}
