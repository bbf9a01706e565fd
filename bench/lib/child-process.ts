// The processes the bench measures (started by world.ts startChild with the world's env):
//   app     - createHttpHandler (the webhook's fast lane, then the express app) over real Services, listening on 127.0.0.1 (an OS-chosen port)
//   bare    - the baseline: express with the same JSON body parser and a constant answer
//   floor-redis - the bare route plus one Redis round trip per request (an EVALSHA reading one
//             hash field, on a fail-fast connection like the gate's): what any Redis-backed gate
//             pays on this machine, measured beside the gate (issue 15's reference point)
//   floor-pg  - the bare route plus one Postgres round trip (a named one-row SELECT on a pool of
//             the app's size): the same for a Postgres-backed decision
//   http-redis - issue 26's anchor for the cache path: plain node:http, no express (the gate's
//             fast lane skips express too, so an express baseline flatters it): read the body,
//             JSON.parse it, take the call id, the same one Redis script call as floor-redis,
//             answer the constant with the gate's own writer (sendJson)
//   http-pg   - the same with floor-pg's one Postgres query instead: the fallback's anchor
//   workers - startWorkers over real Services; it also times every meter step's start against
//             its due time (meter-probe.ts) and answers the parent's window requests over IPC
// Each tells its parent it is ready over IPC, and stops on SIGTERM.
import type { RequestListener } from 'node:http';
import express from 'express';
import { createHttpHandler } from '../../api/webhook-fast-lane';
import { sendJson } from '../../api/routes/vapi-webhook';
import { startServer, type RunningServer } from '../../api/server';
import { loadConfig, type Config } from '../../shared/config';
import { createPool } from '../../shared/db/pool';
import { createServices } from '../../shared/process/services';
import { createRedis } from '../../shared/redis';
import { startWorkers, type RunningWorkers } from '../../workers/main';
import { instrumentMeters, isProbeRequest } from './meter-probe';

/** What the bare baseline answers: the shape of an allowed assistant-request. */
export const CONSTANT_ASSISTANT = {
  assistantId: 'asst_bench',
  assistantOverrides: { maxDurationSeconds: 600, metadata: { orgId: '00000000-0000-0000-0000-000000000000' } },
};

interface RoundTrip {
  run(id: string): Promise<unknown>;
  close(): Promise<void>;
}

/** The one store round trip a floor or anchor route makes per request (none for the bare route). */
function floorRoundTrip(store: 'redis' | 'pg', config: Config): RoundTrip {
  if (store === 'redis') {
    const redis = createRedis(config.redis, 'fail-fast', 'bench-floor');
    redis.defineCommand('floorRead', { numberOfKeys: 1, lua: "return redis.call('HGET', KEYS[1], ARGV[1])" });
    const run = (redis as unknown as { floorRead(key: string, field: string): Promise<unknown> }).floorRead.bind(redis);
    return { run: (id) => run('bench-floor:{h}', id), close: async () => void redis.disconnect() };
  }
  if (config.data.kind !== 'postgres') throw new Error('floor-pg needs DATABASE_URL');
  const pool = createPool(config.data.databaseUrl);
  return { run: (id) => pool.query({ name: 'bench-floor', text: 'select $1::text as id', values: [id] }), close: () => pool.end() };
}

/**
 * The node:http anchors (http-redis, http-pg): only what any server answering this webhook must
 * do, and nothing the gate does on top (no authentication, no number lookup, no admission). The
 * body is read whole (the fast lane reads it with raw-body under the same limit), parsed, and the
 * one round trip made with the call id; the answer goes out through the fast lane's own sendJson.
 */
function anchorHandler(roundTrip: RoundTrip, bodyLimit: number): RequestListener {
  return (req, res) => {
    if (req.method !== 'POST' || req.url !== '/api/vapi/webhook') {
      sendJson(res, 404, { error: 'not_found' });
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= bodyLimit) chunks.push(chunk);
    });
    req.on('end', () => {
      let callId: string;
      try {
        if (size > bodyLimit) throw new Error('body too large');
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { message?: { call?: { id?: unknown } } };
        callId = String(body.message?.call?.id);
      } catch {
        sendJson(res, 400, { error: 'bad_request' });
        return;
      }
      roundTrip.run(callId).then(
        () => sendJson(res, 200, CONSTANT_ASSISTANT),
        () => sendJson(res, 500, { error: 'store_failed' }),
      );
    });
  };
}

async function main(): Promise<void> {
  const role = process.argv[2];
  const config = loadConfig();
  let server: RunningServer | undefined;
  let workers: RunningWorkers | undefined;
  let close: () => Promise<void> = async () => undefined;

  if (role === 'bare' || role === 'floor-redis' || role === 'floor-pg') {
    const app = express();
    app.disable('x-powered-by');
    app.use(express.json({ limit: config.limits.httpBodyBytes, strict: true }));
    if (role === 'bare') {
      app.post('/api/vapi/webhook', (_req, res) => {
        res.json(CONSTANT_ASSISTANT);
      });
    } else {
      const roundTrip = floorRoundTrip(role === 'floor-redis' ? 'redis' : 'pg', config);
      close = roundTrip.close;
      app.post('/api/vapi/webhook', (req, res, next) => {
        roundTrip.run(String((req.body as { message?: { call?: { id?: unknown } } }).message?.call?.id)).then(() => res.json(CONSTANT_ASSISTANT), next);
      });
    }
    server = await startServer(app, 0, '127.0.0.1');
  } else if (role === 'http-redis' || role === 'http-pg') {
    const roundTrip = floorRoundTrip(role === 'http-redis' ? 'redis' : 'pg', config);
    close = roundTrip.close;
    server = await startServer(anchorHandler(roundTrip, config.callGate.webhookBodyBytes), 0, '127.0.0.1');
  } else if (role === 'app' || role === 'workers') {
    const services = createServices(config);
    if (role === 'app') server = await startServer(createHttpHandler(services), 0, '127.0.0.1');
    else {
      // Before the workers start: the meter worker looks services.calls.meters up for each job.
      const probe = instrumentMeters(services);
      process.on('message', (message: unknown) => {
        if (isProbeRequest(message)) void probe.answer(message).then((reply) => process.send?.(reply));
      });
      workers = await startWorkers(services);
    }
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
