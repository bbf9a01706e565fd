// node-postgres pool. int8 columns come back as numbers: every amount is bounded far below 2^53
// by CHECKs and by the parsers at the edge, and a value outside that range is a crash, not a float.
import { Pool, types } from 'pg';

types.setTypeParser(types.builtins.INT8, (text: string) => {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new Error(`int8 value ${text} is outside the safe integer range`);
  return n;
});

export interface PoolLimits {
  max?: number;
  statementTimeoutMs?: number;
  connectionTimeoutMs?: number;
}

export function createPool(databaseUrl: string, limits: PoolLimits = {}): Pool {
  const pool = new Pool({
    connectionString: databaseUrl,
    max: limits.max ?? 10,
    connectionTimeoutMillis: limits.connectionTimeoutMs ?? 5000,
    statement_timeout: limits.statementTimeoutMs ?? 10_000,
    idleTimeoutMillis: 30_000,
    application_name: 'billing-gates',
  });
  // An idle client's connection can be ended by the server (restart, failover, a forced drop in
  // tests). Without a listener that 'error' event kills the process; the pool discards the
  // client and the next query opens a new connection or fails where it can be handled.
  pool.on('error', () => undefined);
  return pool;
}
