// A fault in one Redis command, on the service's real connection: the hold scripts are ioredis
// custom commands (defineCommand) of that connection, so wrapping one makes the next `times` calls
// fail as a dropped connection would fail them, before anything reaches Redis, and every other
// command (and every later call of this one) goes to the real Redis unchanged.
import type { RedisClient } from '../../shared/redis';

type Command = (...args: unknown[]) => Promise<unknown>;

/** Makes the next `times` calls of the connection's custom command `name` fail; returns a restore function. */
export function failCommand(redis: RedisClient, name: string, times: number): { failed(): number; restore(): void } {
  const target = redis as unknown as Record<string, Command>;
  const real = target[name];
  if (typeof real !== 'function') throw new Error(`${name} is not a command of this connection`);
  let left = times;
  let failed = 0;
  target[name] = function (this: unknown, ...args: unknown[]) {
    if (left > 0) {
      left--;
      failed++;
      return Promise.reject(new Error(`injected fault: ${name} lost (connection reset)`));
    }
    return real.apply(this, args);
  };
  return {
    failed: () => failed,
    restore: () => {
      target[name] = real;
    },
  };
}

/** The next `times` releases of a billed call's Redis hold (call_gate_release) fail. */
export function failReleases(redis: RedisClient, times: number): () => void {
  const fault = failCommand(redis, 'callGateRelease', times);
  return fault.restore;
}
