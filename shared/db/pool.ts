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
  // An idle client whose connection dies (Postgres restarted, connection terminated) is emitted
  // as a pool 'error'; with no listener that would crash the process, and with it the call
  // gate's fallback and fail mode. The next query simply opens a new connection and fails or
  // succeeds on its own, which is where errors are handled.
  pool.on('error', () => undefined);
  return pool;
}
