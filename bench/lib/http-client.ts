// A small keep-alive JSON client for the bench's own requests whose answers it must read (the
// capacity scenario checks every admission's answer, which autocannon does not show). node:http,
// not fetch: undici's per-request cost in this process would be load the servers do not see.
import { Agent, request } from 'node:http';

export interface JsonAnswer {
  status: number;
  text: string;
}

export function jsonClient(baseUrl: string, maxSockets: number) {
  const agent = new Agent({ keepAlive: true, maxSockets });
  const { hostname, port } = new URL(baseUrl);
  return {
    post(path: string, headers: Record<string, string>, body: string, timeoutMs = 10_000): Promise<JsonAnswer> {
      return new Promise((resolve, reject) => {
        const req = request(
          { agent, hostname, port, path, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers }, timeout: timeoutMs },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
            res.on('error', reject);
          },
        );
        req.on('timeout', () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
        req.on('error', reject);
        req.end(body);
      });
    },
    close: () => agent.destroy(),
  };
}

export type JsonClient = ReturnType<typeof jsonClient>;
