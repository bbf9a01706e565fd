// A TCP pass-through a test can cut: down() drops every connection and refuses new ones (a
// Postgres outage as the service sees it), up() listens again on the same port.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { freePort } from './redis-server';

export interface TcpProxy {
  port: number;
  up(): Promise<void>;
  down(): Promise<void>;
}

export async function createTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const port = await freePort();
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const track = (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
  };
  const proxy: TcpProxy = {
    port,
    async up() {
      if (server) return;
      const srv = createServer((client) => {
        const upstream = connect(targetPort, targetHost);
        track(client);
        track(upstream);
        client.pipe(upstream).pipe(client);
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      });
      await new Promise<void>((resolve) => srv.listen(port, '127.0.0.1', resolve));
      server = srv;
    },
    async down() {
      const srv = server;
      server = undefined;
      for (const s of sockets) s.destroy();
      if (srv) await new Promise<void>((resolve) => srv.close(() => resolve()));
    },
  };
  await proxy.up();
  return proxy;
}
