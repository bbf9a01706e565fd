// A bound on how long the call gate waits for one store before it moves to the next.

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
