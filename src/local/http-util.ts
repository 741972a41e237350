/** Small helpers shared by the local servers. */
import type http from 'node:http';
import net, { type AddressInfo } from 'node:net';

/** Listens on 127.0.0.1 (port 0 = any free port) and returns the base URL. */
export async function listenLocal(server: http.Server, port = 0): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A request's body, up to `limit` bytes; beyond it, the error `tooLarge` makes. */
export async function readBody(req: http.IncomingMessage, limit: number, tooLarge: () => Error): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Whether nothing listens on a port (a bind succeeds). */
export function portFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/** A free port on 127.0.0.1 chosen by the OS. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Stops accepting and drops open keep-alive connections. */
export function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** Anything that emits `close` when its client goes away (HTTP/1.1 and HTTP/2 responses). */
interface Closable {
  once(event: 'close', listener: () => void): unknown;
  off(event: 'close', listener: () => void): unknown;
}

/** Waits `ms`; resolves false early when the response closes (the client went away). */
export function waitUnlessClosed(ms: number, res: Closable): Promise<boolean> {
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onClose = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      res.off('close', onClose);
      resolve(true);
    }, ms);
    res.once('close', onClose);
  });
}

/** Whether an IP address is one of this machine's loopback addresses (127.0.0.0/8, ::1). */
export function isLoopbackAddress(address: string): boolean {
  const v4 = /^(?:::ffff:)?(\d+)\.\d+\.\d+\.\d+$/i.exec(address);
  if (v4 && net.isIP(address.replace(/^::ffff:/i, '')) === 4) return v4[1] === '127';
  if (net.isIP(address) !== 6) return false;
  const list = new net.BlockList();
  list.addAddress('::1', 'ipv6');
  return list.check(address, 'ipv6');
}

/** Listens on `host` (port 0 = any free port) and returns the base URL. */
export async function listenAt(server: http.Server, port: number, host: string): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
}
