// Listening and graceful close for the HTTP handler (api/webhook-fast-lane.ts createHttpHandler:
// the webhook's fast lane in front of the express app); no logic.
import { createServer, type RequestListener, type Server } from 'node:http';

export interface RunningServer {
  server: Server;
  port: number;
  /** Stops accepting, lets in-flight requests finish, then drops idle keep-alive sockets. */
  close(deadlineMs: number): Promise<void>;
}

export function startServer(handler: RequestListener, port: number, host = '0.0.0.0'): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const server = createServer(handler);
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      const bound = typeof address === 'object' && address ? address.port : port;
      resolve({
        server,
        port: bound,
        close: (deadlineMs) =>
          new Promise<void>((done) => {
            const force = setTimeout(() => {
              server.closeAllConnections();
            }, deadlineMs);
            force.unref();
            server.close(() => {
              clearTimeout(force);
              done();
            });
            server.closeIdleConnections();
          }),
      });
    });
    server.keepAliveTimeout = 5000;
    server.headersTimeout = 10_000;
    server.requestTimeout = 30_000;
  });
}
