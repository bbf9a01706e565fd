// The data adapters the shared contract suite runs against. Each opens a LedgerStore on the
// test context's database.
import { createLedgerStore, type LedgerStore } from '../../shared/ledger/ledger-store';
import { createPool } from '../../shared/db/pool';
import { pgRpc } from '../../shared/db/rpc';
import type { TestContext } from './context';

export interface LedgerAdapter {
  name: string;
  open(ctx: TestContext): Promise<{ store: LedgerStore; close(): Promise<void> }>;
}

export const ledgerAdapters: LedgerAdapter[] = [
  {
    name: 'node-postgres',
    async open(ctx) {
      // Enough connections for the concurrency tests to actually overlap.
      const rpc = pgRpc(createPool(ctx.databaseUrl, { max: 20 }));
      return { store: createLedgerStore(rpc), close: () => rpc.close() };
    },
  },
];
