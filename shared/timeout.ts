// Bounds on waiting for a store: the call gate's per-step deadlines, the enqueue after a debit,
// readiness checks, and the metrics samplers that run on scrape.

export class StoreTimeoutError extends Error {
  override name = 'StoreTimeoutError';
  constructor(readonly store: 'redis' | 'postgres', readonly timeoutMs: number) {
    super(`${store} did not answer within ${timeoutMs} ms`);
  }
}

/** Resolves or rejects as `work` does, or rejects with StoreTimeoutError after timeoutMs. */
export function withTimeout<T>(work: Promise<T>, timeoutMs: number, store: 'redis' | 'postgres'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StoreTimeoutError(store, timeoutMs)), timeoutMs);
    timer.unref(); // a bound on waiting must never be what keeps a process alive
  });
  // The losing promise may still reject later; it must not become an unhandled rejection.
  work.catch(() => undefined);
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/**
 * True when `work` settles successfully within timeoutMs; false when it fails or is still running
 * (it is then left to finish on its own). For work whose only output is its side effect, e.g. a
 * gauge set on scrape: the scrape must answer in time either way.
 */
export async function settlesWithin(work: Promise<unknown>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
    timer.unref();
  });
  const done = work.then(
    () => true,
    () => false,
  );
  const ok = await Promise.race([done, deadline]);
  clearTimeout(timer);
  return ok;
}
