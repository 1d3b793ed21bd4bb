// What a long-running backup (`stream`, and `run` while it runs) tells Prometheus, in the terms
// Litestream and PBM users alert on: how new the newest archived op is and how far it lags the
// commit point, what was written, how the store is behaving, the restorable window and whether
// the chain holds together. Kept with prom-client, the ecosystem's standard client, in a registry
// of its own (never the global one), so a test or an embedding program can hold several.
// One process may back up several sources at once (a cluster stream: every member): each is a
// SourceMetrics, its series told apart by labels (set_name; member and role for a cluster).
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { headLinksUp, windowOf } from '../archive/chain-window.ts';
import { chainEnd, lastChunkOf, linkOf, newestChainOf, type Chain, type Chunk, type Manifest, type SourceIdentity } from '../archive/manifest.ts';
import type { Ts } from '../timestamp.ts';

/** An op time as Prometheus wants a time: seconds since the epoch (the ordinal is dropped). */
const seconds = (ts: Ts): number => ts.t;

/** The labels of one source's series: its set name, and for a cluster member its name and role. */
export type SourceLabels = { readonly set_name: string } & Partial<Record<'member' | 'role', string>>;

/** Label names of the per-source series: a replica set's, and a cluster member's. */
export const SET_LABELS = ['set_name'] as const;
export const MEMBER_LABELS = ['set_name', 'member', 'role'] as const;

type LabelName = (typeof MEMBER_LABELS)[number];

/** The per-source series, shared by every source of the process (each sets its own labels). */
interface SourceSeries {
  readonly newestOp: Gauge<LabelName>;
  readonly lag: Gauge<LabelName>;
  readonly chunks: Counter<LabelName>;
  readonly ops: Counter<LabelName>;
  readonly bytes: Counter<LabelName>;
  readonly windowStart: Gauge<LabelName>;
  readonly windowEnd: Gauge<LabelName>;
  readonly healthy: Gauge<LabelName>;
  readonly verifiedAt: Gauge<LabelName>;
}

export class BackupMetrics {
  readonly registry = new Registry();
  readonly #series: SourceSeries;
  /** The one source of a replica-set process (forSource), for the methods below that name none. */
  #source: SourceMetrics;
  readonly #requestRetries: Counter<'operation'>;
  readonly #storeRetries: Counter<'operation' | 'kind'>;
  readonly #storeErrors: Counter<'kind'>;

  /** `labelNames`: MEMBER_LABELS when the process backs up a cluster's members. */
  constructor(options: { labelNames?: readonly LabelName[] } = {}) {
    const registers = [this.registry];
    const labelNames = [...(options.labelNames ?? SET_LABELS)];
    const gauge = (name: string, help: string) => new Gauge({ name, help, labelNames, registers });
    const counter = (name: string, help: string) => new Counter({ name, help, labelNames, registers });
    this.#series = {
      newestOp: gauge('mongo_pitr_newest_archived_op_timestamp_seconds', 'Time (oplog ts seconds) of the newest op archived in the newest chain'),
      lag: gauge('mongo_pitr_lag_seconds', 'How far the newest sealed chunk was behind the source commit point when sealed'),
      chunks: counter('mongo_pitr_chunks_written_total', 'Oplog chunks written and committed by this process'),
      ops: counter('mongo_pitr_oplog_entries_archived_total', 'Oplog entries archived by this process'),
      bytes: counter('mongo_pitr_bytes_written_total', 'Bytes stored (compressed) by this process, chunks and base objects'),
      windowStart: gauge('mongo_pitr_restorable_window_start_timestamp_seconds', 'Earliest time the newest chain restores to (its base T1)'),
      windowEnd: gauge('mongo_pitr_restorable_window_end_timestamp_seconds', 'Latest time the newest chain restores to (its seal point)'),
      healthy: gauge('mongo_pitr_chain_healthy', '1 when the newest chain links up object by object (hash chain and adjacency), else 0'),
      verifiedAt: gauge('mongo_pitr_chain_verified_timestamp_seconds', 'When the newest chain was last read back and hashed whole (0: never)'),
    };
    this.#source = new SourceMetrics(this.#series, { set_name: '' });
    this.#requestRetries = new Counter({ name: 'mongo_pitr_store_request_retries_total', help: 'S3 requests retried by the S3 client itself (5xx, throttling, resets), by request', labelNames: ['operation'] as const, registers });
    this.#storeRetries = new Counter({ name: 'mongo_pitr_store_retries_total', help: 'Whole store operations retried (retrying-store.ts), by operation and the kind of error retried', labelNames: ['operation', 'kind'] as const, registers });
    this.#storeErrors = new Counter({ name: 'mongo_pitr_store_errors_total', help: 'Store calls that failed, by error kind', labelNames: ['kind'] as const, registers });
    collectDefaultMetrics({ register: this.registry, prefix: 'mongo_pitr_' });
  }

  /** The source this process backs up: its set name labels the per-source series. */
  forSource(source: SourceIdentity): void {
    this.#source = this.sourceMetrics({ set_name: source.setName });
  }

  /**
   * One of several sources this process backs up (a cluster member: set_name, member, role), its
   * series at zero so an alert on "increase" has a zero to start from.
   */
  sourceMetrics(labels: SourceLabels): SourceMetrics {
    const metrics = new SourceMetrics(this.#series, labels);
    metrics.start();
    return metrics;
  }

  /** Everything the manifest says about this source's newest chain (at start, and after a base). */
  observeManifest(manifest: Manifest, source: SourceIdentity): void {
    this.#source.observeManifest(manifest, source);
  }

  /** A chunk was committed (onto any chain): what was written. */
  observeWritten(chunk: Chunk): void {
    this.#source.observeWritten(chunk);
  }

  /** A chunk was committed onto the newest chain, the one observeManifest saw (a stream's). */
  observeChunk(chunk: Chunk): void {
    this.#source.observeChunk(chunk);
  }

  /** Base objects stored (a collection's data and metadata). */
  observeStored(bytes: number): void {
    this.#source.observeStored(bytes);
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
    this.#source.observeDamaged();
  }

  observeStoreError(kind: string): void {
    this.#storeErrors.inc({ kind });
  }
}

/** One source's series (its labels) and what this process knows of its chain's end. */
export class SourceMetrics {
  readonly #series: SourceSeries;
  readonly #labels: SourceLabels;
  /** The last object of the chain as this process knows it, to check each new chunk links on. */
  #end: { lastTs: Ts; sha256: string } | undefined;

  constructor(series: SourceSeries, labels: SourceLabels) {
    this.#series = series;
    this.#labels = labels;
  }

  /** Series that exist before anything happened, so an alert on "increase" has a zero to start from. */
  start(): void {
    for (const metric of [this.#series.chunks, this.#series.ops, this.#series.bytes]) metric.inc(this.#labels, 0);
  }

  /**
   * Everything the manifest's head says about this source's newest chain (at start, and after a
   * pass). The head is enough (readHead, not readManifest): every series here is about the chain's
   * end, its base, its damage and its last verify, which the head holds whatever the chain's age
   * (archive/source-summary.ts, as status). A whole chain (readManifest) gives the same values.
   */
  observeManifest(manifest: Manifest, source: SourceIdentity): void {
    const chain = newestChainOf(manifest, source);
    if (!chain) {
      this.#series.healthy.set(this.#labels, 0);
      return;
    }
    this.#observeChain(chain);
  }

  #observeChain(chain: Chain): void {
    const series = this.#series;
    const window = windowOf(chain);
    series.windowStart.set(this.#labels, seconds(window.from));
    series.windowEnd.set(this.#labels, seconds(window.to));
    // The newest record, sealed into a segment or still in the head (a head may hold none).
    const end = chainEnd(chain);
    series.newestOp.set(this.#labels, seconds(end.lastTs));
    const lag = lastChunkOf(chain)?.lagMs;
    if (lag !== undefined && lag !== null) series.lag.set(this.#labels, lag / 1000);
    // Damage recorded by a read-back (chain-health.ts), or records in the head that do not link.
    series.healthy.set(this.#labels, !chain.damage && headLinksUp(chain) ? 1 : 0);
    series.verifiedAt.set(this.#labels, chain.verifiedAt ? Date.parse(chain.verifiedAt) / 1000 : 0);
    // What the next chunk's prevSha256 names: a compacted record is followed by its last piece's hash.
    this.#end = { lastTs: end.lastTs, sha256: linkOf(end) };
  }

  /** A chunk was committed (onto any chain): what was written. */
  observeWritten(chunk: Chunk): void {
    this.#series.chunks.inc(this.#labels);
    this.#series.ops.inc(this.#labels, chunk.count);
    this.#series.bytes.inc(this.#labels, chunk.storedBytes);
  }

  /**
   * A chunk was committed onto the newest chain, the one observeManifest saw (a stream's): what
   * was written, and where the chain now ends.
   */
  observeChunk(chunk: Chunk): void {
    const series = this.#series;
    this.observeWritten(chunk);
    series.newestOp.set(this.#labels, seconds(chunk.lastTs));
    series.windowEnd.set(this.#labels, seconds(chunk.commitPointTs ?? chunk.lastTs));
    if (chunk.lagMs !== null) series.lag.set(this.#labels, chunk.lagMs / 1000);
    // The same links verifyContinuity checks, for the one new chunk.
    const end = this.#end;
    if (end) {
      const links = chunk.prevSha256 === end.sha256 && chunk.afterTs.t === end.lastTs.t && chunk.afterTs.i === end.lastTs.i;
      if (!links) series.healthy.set(this.#labels, 0);
    }
    // After damage the stream goes on onto a new chain: its chunks are not checked against the old end.
    this.#end = { lastTs: chunk.lastTs, sha256: chunk.sha256 };
  }

  /** Base objects stored (a collection's data and metadata). */
  observeStored(bytes: number): void {
    this.#series.bytes.inc(this.#labels, bytes);
  }

  /** The chain the stream found is damaged (check-chain.ts): unhealthy until a new process sees a whole one. */
  observeDamaged(): void {
    this.#series.healthy.set(this.#labels, 0);
    this.#end = undefined;
  }
}
