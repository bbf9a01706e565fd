// The processes the bench measures (started by world.ts startChild with the world's env):
//   app     - createApp over real Services, listening on 127.0.0.1 (an OS-chosen port)
//   bare    - the baseline: express with the same JSON body parser and a constant answer
//   workers - startWorkers over real Services
// Each tells its parent it is ready over IPC, and stops on SIGTERM.
import express from 'express';
import { createApp } from '../../api/app';
import { startServer, type RunningServer } from '../../api/server';
import { loadConfig } from '../../shared/config';
import { createServices } from '../../shared/process/services';
import { startWorkers, type RunningWorkers } from '../../workers/main';

/** What the bare baseline answers: the shape of an allowed assistant-request. */
export const CONSTANT_ASSISTANT = {
  assistantId: 'asst_bench',
  assistantOverrides: { maxDurationSeconds: 600, metadata: { orgId: '00000000-0000-0000-0000-000000000000' } },
};

async function main(): Promise<void> {
  const role = process.argv[2];
  const config = loadConfig();
  let server: RunningServer | undefined;
  let workers: RunningWorkers | undefined;
  let close: () => Promise<void> = async () => undefined;

  if (role === 'bare') {
    const app = express();
    app.disable('x-powered-by');
    app.use(express.json({ limit: config.limits.httpBodyBytes, strict: true }));
    app.post('/api/vapi/webhook', (_req, res) => {
      res.json(CONSTANT_ASSISTANT);
    });
    server = await startServer(app, 0, '127.0.0.1');
  } else if (role === 'app' || role === 'workers') {
    const services = createServices(config);
    if (role === 'app') server = await startServer(createApp(services), 0, '127.0.0.1');
    else workers = await startWorkers(services);
    close = () => services.close();
  } else {
    throw new Error(`unknown role ${String(role)}`);
  }

  process.once('SIGTERM', () => {
    void (async () => {
      await server?.close(10_000);
      await workers?.close(5000);
      await close();
      process.exit(0);
    })();
  });
  process.send?.({ port: server?.port });
}

main().catch((err: unknown) => {
  process.stderr.write(`bench child: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
