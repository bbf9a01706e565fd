// The ledger invariants every money test ends with (failure mode 2): for every wallet,
// balance == sum(entries); each entry's balance_after == balance_before + amount; and each
// entry starts where the previous one of its wallet ended (starting from zero).
import type { Pool } from 'pg';

export async function ledgerViolations(pool: Pool): Promise<string[]> {
  const problems: string[] = [];
  const sums = await pool.query<{ org_id: string; balance: number; total: number }>(
    `select w.org_id, w.balance, coalesce(sum(e.amount), 0)::bigint as total
       from wallets w left join ledger_entries e on e.org_id = w.org_id
      group by w.org_id, w.balance
     having w.balance <> coalesce(sum(e.amount), 0)`,
  );
  for (const r of sums.rows) problems.push(`wallet ${r.org_id}: balance ${r.balance} but entries sum to ${r.total}`);
  const arithmetic = await pool.query<{ id: number }>('select id from ledger_entries where balance_after <> balance_before + amount');
  for (const r of arithmetic.rows) problems.push(`entry ${r.id}: balance_after != balance_before + amount`);
  const chain = await pool.query<{ id: number }>(
    `select id from (
       select id, balance_before,
              coalesce(lag(balance_after) over (partition by org_id order by id), 0) as previous
         from ledger_entries) x
      where balance_before <> previous`,
  );
  for (const r of chain.rows) problems.push(`entry ${r.id}: balance_before does not continue the previous entry`);
  return problems;
}

export async function expectLedgerConsistent(pool: Pool): Promise<void> {
  expect(await ledgerViolations(pool)).toEqual([]);
}
