// Real service processes for whole-system tests: `bin/launch.ts <role>` run by node
// with the tsx loader (the same code `npx tsx bin/launch.ts` runs, but as one process,
// so a SIGKILL hits the service itself and not a wrapper that would leave it orphaned). Each runs
// in its own process group and is killed with it; its output is kept (bounded) for diagnostics.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export type ServiceRole = 'api' | 'workers' | 'sandbox' | 'all';

export const PROCESS_READY_LIMIT_MS = 30_000;
export const PROCESS_STOP_LIMIT_MS = 10_000;
/** Output kept per process for the failure report. */
export const OUTPUT_TAIL_BYTES = 16_384;

const ROOT = join(__dirname, '..', '..');

export interface ServiceProcess {
  role: string;
  pid: number;
  alive(): boolean;
  /** SIGKILL to the whole process group: a crash, no shutdown hooks. */
  kill(): Promise<void>;
  /** SIGTERM (graceful), then SIGKILL after PROCESS_STOP_LIMIT_MS. */
  stop(): Promise<void>;
  /** SIGSTOP / SIGCONT: the process keeps its sockets but answers nothing (a stall). */
  pause(): void;
  resume(): void;
  /** Resolves when `text` appears in the output, or rejects after limitMs. */
  waitForOutput(text: string, limitMs?: number): Promise<void>;
  output(): string;
}

export function launchService(role: ServiceRole, env: Record<string, string>): ServiceProcess {
  return launchScript(role, 'bin/launch.ts', [role], env);
}

/** Runs a TypeScript file of this repository (path from the root) as its own process group. */
export function launchScript(role: string, script: string, args: string[], env: Record<string, string>): ServiceProcess {
  // Only what node needs from the parent; everything the service reads comes from `env`.
  const base = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp' };
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: ROOT,
    env: { ...base, ...env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  const waiters: Array<{ text: string; resolve(): void }> = [];
  const onData = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-OUTPUT_TAIL_BYTES);
    for (const w of waiters.splice(0)) {
      if (tail.includes(w.text)) w.resolve();
      else waiters.push(w);
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const alive = () => child.exitCode === null && child.signalCode === null;
  const signalGroup = (signal: NodeJS.Signals) => {
    if (!alive() || child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      child.kill(signal);
    }
  };
  const waitUntilGone = (ms: number) => Promise.race([exited, new Promise<void>((r) => setTimeout(r, ms).unref())]);

  return {
    role,
    pid: child.pid ?? -1,
    alive,
    async kill() {
      signalGroup('SIGKILL');
      await waitUntilGone(PROCESS_STOP_LIMIT_MS);
    },
    async stop() {
      signalGroup('SIGCONT');
      signalGroup('SIGTERM');
      await waitUntilGone(PROCESS_STOP_LIMIT_MS);
      signalGroup('SIGKILL');
      await waitUntilGone(PROCESS_STOP_LIMIT_MS);
    },
    pause: () => signalGroup('SIGSTOP'),
    resume: () => signalGroup('SIGCONT'),
    waitForOutput(text, limitMs = PROCESS_READY_LIMIT_MS) {
      if (tail.includes(text)) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${role} (pid ${String(child.pid)}) did not print "${text}" within ${limitMs} ms; output:\n${tail}`)), limitMs);
        timer.unref();
        const entry = {
          text,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
        waiters.push(entry);
        void exited.then(() => {
          clearTimeout(timer);
          if (waiters.includes(entry)) reject(new Error(`${role} exited before printing "${text}"; output:\n${tail}`));
        });
      });
    },
    output: () => tail,
  };
}

/** True when GET url answers 200 within a second. */
export async function answers(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
  await res.arrayBuffer();
  return res.status === 200;
}
