// What a long-running backup (`stream`, and `run` while it runs) tells Prometheus, in the terms
// Litestream and PBM users alert on: how new the newest archived op is and how far it lags the
// commit point, what was written, how the store is behaving, the restorable window and whether
// the chain holds together. Kept with prom-client, the ecosystem's standard client, in a registry
// of its own (never the global one), so a test or an embedding program can hold several.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { verifyContinuity, windowOf } from '../archive/chain-window.ts';
import { newestChainOf, type Chain, type Chunk, type Manifest, type SourceIdentity } from '../archive/manifest.ts';
import type { Ts } from '../timestamp.ts';

/** An op time as Prometheus wants a time: seconds since the epoch (the ordinal is dropped). */
const seconds = (ts: Ts): number => ts.t;

export class BackupMetrics {
  readonly registry = new Registry();
  #source: { set_name: string } = { set_name: '' };
  readonly #newestOp: Gauge<'set_name'>;
  readonly #lag: Gauge<'set_name'>;
  readonly #chunks: Counter<'set_name'>;
  readonly #ops: Counter<'set_name'>;
  readonly #bytes: Counter<'set_name'>;
  readonly #windowStart: Gauge<'set_name'>;
  readonly #windowEnd: Gauge<'set_name'>;
  readonly #healthy: Gauge<'set_name'>;
  readonly #verifiedAt: Gauge<'set_name'>;
  readonly #requestRetries: Counter<'operation'>;
  readonly #storeRetries: Counter<'operation' | 'kind'>;
  readonly #storeErrors: Counter<'kind'>;
  /** The last object of the chain as this process knows it, to check each new chunk links on. */
  #end: { lastTs: Ts; sha256: string } | undefined;

  constructor() {
    const registers = [this.registry];
    const gauge = (name: string, help: string) => new Gauge({ name, help, labelNames: ['set_name'] as const, registers });
    const counter = (name: string, help: string) => new Counter({ name, help, labelNames: ['set_name'] as const, registers });
    this.#newestOp = gauge('mongo_pitr_newest_archived_op_timestamp_seconds', 'Time (oplog ts seconds) of the newest op archived in the newest chain');
    this.#lag = gauge('mongo_pitr_lag_seconds', 'How far the newest sealed chunk was behind the source commit point when sealed');
    this.#chunks = counter('mongo_pitr_chunks_written_total', 'Oplog chunks written and committed by this process');
    this.#ops = counter('mongo_pitr_oplog_entries_archived_total', 'Oplog entries archived by this process');
    this.#bytes = counter('mongo_pitr_bytes_written_total', 'Bytes stored (compressed) by this process, chunks and base objects');
    this.#windowStart = gauge('mongo_pitr_restorable_window_start_timestamp_seconds', 'Earliest time the newest chain restores to (its base T1)');
    this.#windowEnd = gauge('mongo_pitr_restorable_window_end_timestamp_seconds', 'Latest time the newest chain restores to (its seal point)');
    this.#healthy = gauge('mongo_pitr_chain_healthy', '1 when the newest chain links up object by object (hash chain and adjacency), else 0');
    this.#requestRetries = new Counter({ name: 'mongo_pitr_store_request_retries_total', help: 'S3 requests retried by the S3 client itself (5xx, throttling, resets), by request', labelNames: ['operation'] as const, registers });
    this.#storeRetries = new Counter({ name: 'mongo_pitr_store_retries_total', help: 'Whole store operations retried (retrying-store.ts), by operation and the kind of error retried', labelNames: ['operation', 'kind'] as const, registers });
    this.#verifiedAt = gauge('mongo_pitr_chain_verified_timestamp_seconds', 'When the newest chain was last read back and hashed whole (0: never)');
    this.#storeErrors = new Counter({ name: 'mongo_pitr_store_errors_total', help: 'Store calls that failed, by error kind', labelNames: ['kind'] as const, registers });
    collectDefaultMetrics({ register: this.registry, prefix: 'mongo_pitr_' });
  }

  /** The source this process backs up: its set name labels the per-source series. */
  forSource(source: SourceIdentity): void {
    this.#source = { set_name: source.setName };
    // Series that exist before anything happened, so an alert on "increase" has a zero to start from.
    for (const metric of [this.#chunks, this.#ops, this.#bytes]) metric.inc(this.#source, 0);
  }

  /** Everything the manifest says about this source's newest chain (at start, and after a base). */
  observeManifest(manifest: Manifest, source: SourceIdentity): void {
    const chain = newestChainOf(manifest, source);
    if (!chain) {
      this.#healthy.set(this.#source, 0);
      return;
    }
    this.#observeChain(chain);
  }

  #observeChain(chain: Chain): void {
    const window = windowOf(chain);
    this.#windowStart.set(this.#source, seconds(window.from));
    this.#windowEnd.set(this.#source, seconds(window.to));
    const end = chain.chunks.at(-1) ?? chain.base.oplog;
    this.#newestOp.set(this.#source, seconds(end.lastTs));
    const lag = chain.chunks.at(-1)?.lagMs;
    if (lag !== undefined && lag !== null) this.#lag.set(this.#source, lag / 1000);
    // Damage recorded by a read-back (chain-health.ts), or links that do not hold.
    let healthy = chain.damage ? 0 : 1;
    try {
      verifyContinuity(chain);
    } catch {
      healthy = 0;
    }
    this.#healthy.set(this.#source, healthy);
    this.#verifiedAt.set(this.#source, chain.verifiedAt ? Date.parse(chain.verifiedAt) / 1000 : 0);
    this.#end = { lastTs: end.lastTs, sha256: end.sha256 };
  }

  /** A chunk was committed (onto any chain): what was written. */
  observeWritten(chunk: Chunk): void {
    this.#chunks.inc(this.#source);
    this.#ops.inc(this.#source, chunk.count);
    this.#bytes.inc(this.#source, chunk.storedBytes);
  }

  /**
   * A chunk was committed onto the newest chain, the one observeManifest saw (a stream's): what
   * was written, and where the chain now ends.
   */
  observeChunk(chunk: Chunk): void {
    this.observeWritten(chunk);
    this.#newestOp.set(this.#source, seconds(chunk.lastTs));
    this.#windowEnd.set(this.#source, seconds(chunk.commitPointTs ?? chunk.lastTs));
    if (chunk.lagMs !== null) this.#lag.set(this.#source, chunk.lagMs / 1000);
    // The same links verifyContinuity checks, for the one new chunk.
    const end = this.#end;
    if (end) {
      const links = chunk.prevSha256 === end.sha256 && chunk.afterTs.t === end.lastTs.t && chunk.afterTs.i === end.lastTs.i;
      if (!links) this.#healthy.set(this.#source, 0);
    }
    // After damage the stream goes on onto a new chain: its chunks are not checked against the old end.
    this.#end = { lastTs: chunk.lastTs, sha256: chunk.sha256 };
  }

  /** Base objects stored (a collection's data and metadata). */
  observeStored(bytes: number): void {
    this.#bytes.inc(this.#source, bytes);
  }

  /** A store request took `attempts` tries (the S3 client's own retries). */
  observeStoreAttempts(operation: string, attempts: number): void {
    if (attempts > 1) this.#requestRetries.inc({ operation }, attempts - 1);
  }

  /** A whole store operation is being retried after an error of `kind`. */
  observeStoreRetry(operation: string, kind: string): void {
    this.#storeRetries.inc({ operation, kind });
  }

  /** The chain the stream found is damaged (check-chain.ts): unhealthy until a new process sees a whole one. */
  observeDamaged(): void {
    this.#healthy.set(this.#source, 0);
    this.#end = undefined;
  }

  observeStoreError(kind: string): void {
    this.#storeErrors.inc({ kind });
  }
}
