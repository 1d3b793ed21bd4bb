// A fault-injecting HTTP proxy in front of an S3 endpoint (MinIO in the tests): the one fake the
// integration tests allow. Each request draws from a seeded PRNG whether it fails and how:
//   500          an S3 InternalError reply, the request never reaches the store
//   503          an S3 SlowDown reply (throttling), likewise
//   reset-request the connection is destroyed before the request is forwarded
//   reset-body   the request is forwarded (so a write lands), then the reply is cut: half the
//                body and a reset, or, for a bodiless reply, nothing at all (a lost reply)
//   truncate     the reply's headers (with the full Content-Length) and part of its body, then
//                a clean close: a body cut short
//   stall        the request waits 1–2 s before it is forwarded
// The Host header is forwarded as the client sent it: SigV4 signs it, and the store checks the
// signature against the Host it receives.
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { seededRandom } from '../support/seeded-random.ts';

export const FAULT_KINDS = ['500', '503', 'reset-request', 'reset-body', 'truncate', 'stall'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultProxyOptions {
  /** The real endpoint, e.g. http://127.0.0.1:9000. */
  readonly target: string;
  readonly seed: number;
  /** Share of requests that get a fault, 0..1. */
  readonly rate?: number;
  /** Which kinds to draw from (equally likely); all by default. */
  readonly kinds?: readonly FaultKind[];
  /** Requests that may get a fault; all by default. */
  readonly eligible?: (request: IncomingMessage) => boolean;
}

export interface FaultStats {
  requests: number;
  faults: number;
  byKind: Record<FaultKind, number>;
}


export class FaultProxy {
  readonly #server: Server;
  readonly #target: URL;
  readonly #random: () => number;
  #rate: number;
  #kinds: readonly FaultKind[];
  #eligible: (request: IncomingMessage) => boolean;
  readonly stats: FaultStats = { requests: 0, faults: 0, byKind: Object.fromEntries(FAULT_KINDS.map((kind) => [kind, 0])) as Record<FaultKind, number> };

  private constructor(options: FaultProxyOptions) {
    this.#target = new URL(options.target);
    this.#random = seededRandom(options.seed);
    this.#rate = options.rate ?? 0;
    this.#kinds = options.kinds ?? FAULT_KINDS;
    this.#eligible = options.eligible ?? (() => true);
    this.#server = createServer((request, response) => void this.#handle(request, response));
  }

  static async start(options: FaultProxyOptions): Promise<FaultProxy> {
    const proxy = new FaultProxy(options);
    await new Promise<void>((resolve) => proxy.#server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get endpoint(): string {
    const { port } = this.#server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  /** Changes the fault rate (and kinds) from the next request on. */
  configure(options: { rate: number; kinds?: readonly FaultKind[]; eligible?: (request: IncomingMessage) => boolean }): void {
    this.#rate = options.rate;
    this.#kinds = options.kinds ?? FAULT_KINDS;
    this.#eligible = options.eligible ?? (() => true);
  }

  resetStats(): void {
    this.stats.requests = 0;
    this.stats.faults = 0;
    for (const kind of FAULT_KINDS) this.stats.byKind[kind] = 0;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #draw(request: IncomingMessage): FaultKind | null {
    this.stats.requests += 1;
    // Two draws for every request, eligible or not, so the sequence depends on the seed alone.
    const hit = this.#random();
    const pick = this.#random();
    if (!this.#eligible(request) || hit >= this.#rate || this.#kinds.length === 0) return null;
    const kind = this.#kinds[Math.floor(pick * this.#kinds.length)] ?? null;
    if (kind) {
      this.stats.faults += 1;
      this.stats.byKind[kind] += 1;
    }
    return kind;
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const fault = this.#draw(request);
    const body = await readAll(request).catch(() => null);
    if (body === null) return;
    if (fault === 'reset-request') return void request.socket.destroy();
    if (fault === '500' || fault === '503') return s3Error(response, fault);
    if (fault === 'stall') await new Promise((resolve) => setTimeout(resolve, 1000 + Math.floor(this.#random() * 1000)));
    let upstream: { status: number; headers: IncomingMessage['headers']; body: Buffer };
    try {
      upstream = await this.#forward(request, body);
    } catch {
      return void request.socket.destroy();
    }
    if (fault === 'reset-body' || fault === 'truncate') return cut(response, upstream, fault);
    response.writeHead(upstream.status, upstream.headers);
    response.end(upstream.body);
  }

  #forward(request: IncomingMessage, body: Buffer): Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const upstream = httpRequest(
        { host: this.#target.hostname, port: this.#target.port, method: request.method, path: request.url, headers: request.headers },
        (reply) => {
          readAll(reply).then((bytes) => resolve({ status: reply.statusCode ?? 502, headers: reply.headers, body: bytes }), reject);
        },
      );
      upstream.on('error', reject);
      upstream.end(body);
    });
  }
}

function readAll(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
    stream.on('aborted', () => reject(new Error('aborted')));
  });
}

function s3Error(response: ServerResponse, status: '500' | '503'): void {
  const code = status === '500' ? 'InternalError' : 'SlowDown';
  const message = status === '500' ? 'We encountered an internal error. Please try again.' : 'Please reduce your request rate.';
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
  response.writeHead(Number(status), { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(xml) });
  response.end(xml);
}

/** Sends the reply's head and part of its body, then closes: reset (destroy) or a clean FIN (truncate). */
function cut(response: ServerResponse, upstream: { status: number; headers: IncomingMessage['headers']; body: Buffer }, fault: 'reset-body' | 'truncate'): void {
  const socket = response.socket;
  if (!socket) return;
  if (upstream.body.length < 2) return void socket.destroy();
  response.writeHead(upstream.status, upstream.headers);
  response.write(upstream.body.subarray(0, Math.floor(upstream.body.length / 2)), () => {
    if (fault === 'reset-body') socket.resetAndDestroy();
    else socket.end();
  });
}
