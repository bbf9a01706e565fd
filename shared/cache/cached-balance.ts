// The wallet as the balance cache takes it (CachedBalance in balance-cache.ts): balance, version,
// currency and the spend controls at that version. Every SQL function that changes a wallet hands
// this back for the write-through, so every store reads it with this one shape.
import { z } from 'zod';
import { walletControls } from '../wallet/wallet-controls';
import type { CachedBalance } from './balance-cache';

const int = z.number().int();

/** Spread `.shape` into an answer that carries the wallet; `controls` is optional (a snapshot without them removes the cached ones). */
export const cachedBalance = z.object({
  balance: int,
  version: int.nonnegative(),
  currency: z.string(),
  controls: walletControls.optional(),
}) satisfies z.ZodType<CachedBalance>;
