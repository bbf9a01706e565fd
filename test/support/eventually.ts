// The tests' one polling loop: ask again until the answer comes, within a deadline, so no test
// waits on a fixed sleep or forever.

export interface Patience {
  /** Named in the error past the deadline; a function is asked then (e.g. for the last state seen). */
  what?: string | (() => string);
  /** How long to keep asking (ms). */
  timeoutMs?: number;
  /** The pause between two questions (ms). */
  everyMs?: number;
  /** A probe that throws counts as "not yet" (a process still starting), and its last error is named past the deadline. */
  retryErrors?: boolean;
}

/** Past the deadline: `<what>: not reached within <timeoutMs> ms`. */
export class NotReachedError extends Error {
  override name = 'NotReachedError';
}

/**
 * Asks `probe` until it answers a value other than undefined or false, and returns that value;
 * throws NotReachedError once `timeoutMs` (default 10 s) has passed without one.
 */
export async function eventually<T>(probe: () => Promise<T | undefined | false>, patience: Patience = {}): Promise<Exclude<T, undefined | false>> {
  const { what = 'condition', timeoutMs = 10_000, everyMs = 25, retryErrors = false } = patience;
  const deadline = Date.now() + timeoutMs;
  let lastError: Error | undefined;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value as Exclude<T, undefined | false>;
    } catch (err) {
      if (!retryErrors) throw err;
      lastError = err as Error;
    }
    if (Date.now() > deadline) {
      const named = typeof what === 'function' ? what() : what;
      throw new NotReachedError(`${named}: not reached within ${timeoutMs} ms${lastError ? `: ${lastError.message}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
