/**
 * A small HTTP proxy in front of a server (the local S3): forwards every request as it came
 * (headers included, so signatures still verify) and records what went over the wire — method,
 * path, the conditional header and the answer's status. `stop()` closes it (requests to its port
 * are refused: S3 "down"); `start()` listens again on the same port.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxiedRequest {
  method: string;
  path: string;
  ifNoneMatch?: string;
  status?: number;
}

export class CountingProxy {
  readonly requests: ProxiedRequest[] = [];
  private server?: http.Server;
  private port = 0;
  private readonly agent = new http.Agent({ keepAlive: true });

  constructor(private readonly target: string) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Requests whose path contains `fragment` (e.g. an object key). */
  to(fragment: string): ProxiedRequest[] {
    return this.requests.filter((r) => r.path.includes(fragment));
  }

  reset(): void {
    this.requests.length = 0;
  }

  /** Listens (again, on the same port once it had one); a running proxy stays as it is. */
  async start(): Promise<string> {
    if (this.server) return this.url;
    const target = new URL(this.target);
    const server = http.createServer((req, res) => {
      const entry: ProxiedRequest = { method: req.method ?? 'GET', path: req.url ?? '/' };
      const inm = req.headers['if-none-match'];
      if (typeof inm === 'string') entry.ifNoneMatch = inm;
      this.requests.push(entry);
      const upstream = http.request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent: this.agent },
        (answer) => {
          entry.status = answer.statusCode;
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      });
      req.pipe(upstream);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    return this.url;
  }

  /** Closes the proxy and every connection to it: requests to its port are refused until `start`. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  async close(): Promise<void> {
    await this.stop();
    this.agent.destroy();
  }
}
