// The Prometheus scrape endpoint: GET /metrics on --metrics-addr, the registry's text format.
// Off unless asked for; bind it to loopback or a private interface, as with any exporter.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { UsageError } from '../errors.ts';

export interface MetricsServer {
  /** http://host:port/metrics, with the port the kernel gave when 0 was asked for. */
  readonly url: string;
  close(): Promise<void>;
}

/** "host:port", "[v6]:port" or ":port" (every interface). */
export function parseMetricsAddr(addr: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(addr.trim());
  const port = Number(match?.[3]);
  if (!match || !Number.isInteger(port) || port > 65535) {
    throw new UsageError(`--metrics-addr ${addr}: expected host:port`, { hint: 'for example 127.0.0.1:9464' });
  }
  return { host: match[1] ?? (match[2] || '0.0.0.0'), port };
}

export async function serveMetrics(addr: string, registry: Registry): Promise<MetricsServer> {
  const { host, port } = parseMetricsAddr(addr);
  const server: Server = createServer((request, response) => {
    if (request.method !== 'GET' || (request.url ?? '').split('?')[0] !== '/metrics') {
      response.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { 'Content-Type': registry.contentType }).end(text),
      (error: unknown) => response.writeHead(500).end(String(error)),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(new UsageError(`--metrics-addr ${addr}: ${error.message}`, { cause: error })));
    server.listen(port, host, () => resolve());
  });
  server.unref();
  const bound = server.address() as AddressInfo;
  const shown = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  return {
    url: `http://${shown}:${bound.port}/metrics`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
