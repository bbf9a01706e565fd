// A TCP pass-through a test can break: down() drops every connection and refuses new ones (an
// outage as the service sees it), stall() keeps connections open but holds every byte (a store
// that is up but too slow), loseAnswers() lets every request through but drops the connection
// the moment the server answers (the request took effect; its answer never arrives), up()
// restores normal service (delivering what a stall held back).
import { createServer, connect, type Server, type Socket } from 'node:net';
import { freePort } from './redis-server';

export interface TcpProxy {
  port: number;
  up(): Promise<void>;
  down(): Promise<void>;
  stall(): void;
  loseAnswers(): void;
}

export async function createTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const port = await freePort();
  const sockets = new Set<Socket>();
  const held: Array<() => void> = [];
  let stalled = false;
  let losing = false;
  let server: Server | undefined;
  const track = (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
  };
  const forward = (from: Socket, to: Socket, answer: boolean) =>
    from.on('data', (chunk) => {
      if (answer && losing) {
        to.destroy();
        return;
      }
      const send = () => {
        if (!to.destroyed) to.write(chunk);
      };
      if (stalled) held.push(send);
      else send();
    });
  const proxy: TcpProxy = {
    port,
    async up() {
      stalled = false;
      losing = false;
      for (const send of held.splice(0)) send();
      if (server) return;
      const srv = createServer((client) => {
        const upstream = connect(targetPort, targetHost);
        track(client);
        track(upstream);
        forward(client, upstream, false);
        forward(upstream, client, true);
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      });
      await new Promise<void>((resolve) => srv.listen(port, '127.0.0.1', resolve));
      server = srv;
    },
    async down() {
      const srv = server;
      server = undefined;
      held.length = 0;
      for (const s of sockets) s.destroy();
      if (srv) await new Promise<void>((resolve) => srv.close(() => resolve()));
    },
    stall() {
      stalled = true;
    },
    loseAnswers() {
      losing = true;
    },
  };
  await proxy.up();
  return proxy;
}
