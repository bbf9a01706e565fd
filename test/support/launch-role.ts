// Runs the real entry point, `tsx bin/launch.ts <role>`, as a child process until it exits, with
// only PATH and HOME from the test runner (no DATABASE_URL or secret leaks in) plus `env`. tsx is
// run through node directly rather than npx, so that npm's own warnings about the machine's npmrc
// cannot be mistaken for (or hide) the service's output.
import { spawn } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const TSX = path.join(ROOT, 'node_modules/tsx/dist/cli.mjs');

export interface LaunchResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The role's exit code and output; rejects (after killing it) when it has not exited within `limitMs`. */
export function launchRole(role: string, env: Record<string, string>, limitMs: number): Promise<LaunchResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TSX, 'bin/launch.ts', role], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`launch.ts ${role} did not exit within ${limitMs} ms; output: ${stdout}${stderr}`));
    }, limitMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
