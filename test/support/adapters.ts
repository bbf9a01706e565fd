// The data adapters the shared contract suite runs against. Each opens a LedgerStore on the
// test context's database: node-postgres directly, and supabase-js through the PostgREST-compatible
// test server (test/support/postgrest-server.ts), which calls the same SQL functions as the
// service_role, in a transaction, as Supabase does.
import { createLedgerStore, type LedgerStore } from '../../shared/ledger/ledger-store';
import { createPool } from '../../shared/db/pool';
import { pgRpc, supabaseRpc } from '../../shared/db/rpc';
import { TEST_JWT_SECRET, type TestContext } from './context';
import { startPostgrestServer } from './postgrest-server';

export interface LedgerAdapter {
  name: string;
  open(ctx: TestContext): Promise<{ store: LedgerStore; close(): Promise<void> }>;
}

/** Enough connections for the concurrency tests to actually overlap in Postgres. */
export const ADAPTER_POOL_SIZE = 20;

export const ledgerAdapters: LedgerAdapter[] = [
  {
    name: 'node-postgres',
    async open(ctx) {
      const rpc = pgRpc(createPool(ctx.databaseUrl, { max: ADAPTER_POOL_SIZE }));
      return { store: createLedgerStore(rpc), close: () => rpc.close() };
    },
  },
  {
    name: 'supabase-js',
    async open(ctx) {
      const server = await startPostgrestServer({ databaseUrl: ctx.databaseUrl, jwtSecret: TEST_JWT_SECRET, poolSize: ADAPTER_POOL_SIZE });
      let rpc;
      try {
        rpc = supabaseRpc(server.url, server.keys.serviceRole);
      } catch (err) {
        await server.close();
        throw err;
      }
      return {
        store: createLedgerStore(rpc),
        async close() {
          await rpc.close();
          await server.close();
        },
      };
    },
  },
];
