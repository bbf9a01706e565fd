// Starts an HTTP handler (a simulator's express app, a test's stand-in) on host:port (0 = any free
// port) and closes it without waiting for idle keep-alive sockets. The simulators and the tests'
// own servers all listen through this.
import { createServer, Server, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Listening {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** `handler` may be a server already built (to set its options first); by default any free port on 127.0.0.1. */
export async function listenLocal(handler: RequestListener | Server, port = 0, host = '127.0.0.1'): Promise<Listening> {
  const server = handler instanceof Server ? handler : createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${bound}`,
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
