// The AWS Lambda entry point: a scheduled (EventBridge) event runs `runDue` — the new oplog, and
// a base when one is due or in progress — under a deadline signal that fires a safety margin
// before the invocation's time is up. Work stops between commits, so an invocation that runs out
// of time returns `stoppedEarly: true` and the next one continues (a base across as many
// invocations as it takes). Configuration comes from the environment only; failures are thrown,
// their class in the message, so Lambda marks the invocation failed. A sharded cluster
// (MONGO_PITR_TOPOLOGY, or a MONGODB_URI reaching a mongos: cluster-source.ts) runs the cluster
// pass instead (cluster/cluster-run.ts: members in parallel, each resumable, one deadline).
import { setFlagsFromString } from 'node:v8';
import { describeRunDue, runDue, runDueReport } from '../backup/run-due.ts';
import { ENV, parseChunkLimits, parseDuration, parsePositiveInt, pickList } from '../config.ts';
import { PitrError, UsageError } from '../errors.ts';
import { createLog } from '../log.ts';
import { redactText } from '../redact.ts';
import { connectSource } from '../source/connect-source.ts';
import { cutOffBy, deadlineIn, type Deadline } from '../source/time-limit.ts';
import { openStore, type OpenStoreOptions } from '../store/open-store.ts';
import { loadCipher } from '../crypt/key-files.ts';
import { attachCipher } from '../crypt/store-cipher.ts';
import { DEFAULT_CHUNK_BYTES, DEFAULT_CHUNK_SPAN_SECONDS, type ChunkLimits } from '../archive/chunker.ts';
import { DEFAULT_DUMP_CONCURRENCY } from '../backup/take-base.ts';
import { pieceBytesOf } from '../backup/dump-pieces.ts';
// Loaded with the module, in Lambda's init phase (which the function timeout does not count),
// not by the first invocation: the AWS SDK is most of the start-up time (open-store.ts loads it
// lazily for the CLI's sake).
import '../store/s3-store.ts';
import { runCluster } from '../cluster/cluster-run.ts';
import { clusterRunReport, describeClusterRun } from '../cli/commands/cluster-run.ts';
import { ALLOW_BALANCER_ENV, clusterTopologyOf, topologySettingOf, TOPOLOGY_ENV, type TopologySetting } from './cluster-source.ts';

// The CLI's `#!` line runs Node with --heap-growing-percent=50 (V8 collects the old generation
// again at 1.5x what survived the last full collection instead of up to 4x: dead load batches
// otherwise hold ~120 MiB more at the peak). Lambda starts Node itself and NODE_OPTIONS refuses
// this flag, so the handler sets it as it loads, before any work.
setFlagsFromString('--heap-growing-percent=50');

/** Environment variables the function reads, besides MONGODB_URI, MONGO_PITR_STORE, MONGO_PITR_S3_ENDPOINT and AWS_*. */
export const LAMBDA_ENV = {
  baseEvery: 'MONGO_PITR_BASE_EVERY',
  chunkSizeMiB: 'MONGO_PITR_CHUNK_SIZE_MIB',
  chunkSpan: 'MONGO_PITR_CHUNK_SPAN',
  safetyMarginMs: 'MONGO_PITR_SAFETY_MARGIN_MS',
  concurrency: 'MONGO_PITR_CONCURRENCY',
  /** MiB of documents per piece of a large collection (backup/dump-pieces.ts); decimals allowed. */
  basePieceMiB: 'MONGO_PITR_BASE_PIECE_MIB',
  includeAuth: 'MONGO_PITR_INCLUDE_AUTH',
  sse: 'MONGO_PITR_SSE',
  sseKmsKeyId: 'MONGO_PITR_SSE_KMS_KEY_ID',
  /** A sharded cluster: its topology JSON inline, or a file path (cluster-source.ts). */
  topology: TOPOLOGY_ENV,
  allowBalancer: ALLOW_BALANCER_ENV,
} as const;

/**
 * Time kept back from the invocation's deadline: enough to abort the object being uploaded,
 * close the connections and return. Work committed before the signal is kept either way.
 */
export const DEFAULT_SAFETY_MARGIN_MS = 15_000;

/** The part of the Lambda context object this handler uses. */
export interface LambdaContext {
  getRemainingTimeInMillis(): number;
  readonly awsRequestId?: string;
}

export interface LambdaSettings {
  /** Absent only when a topology is given. */
  readonly uri: string | undefined;
  readonly topology: TopologySetting | undefined;
  readonly allowBalancer: boolean;
  readonly store: string;
  readonly storeOptions: OpenStoreOptions;
  readonly limits: ChunkLimits;
  readonly baseEveryMs: number | undefined;
  readonly safetyMarginMs: number;
  readonly concurrency: number;
  /** Absent: DEFAULT_PIECE_BYTES. */
  readonly pieceBytes?: number;
  readonly includeAuth: boolean;
}

/** Reads and checks the function's configuration; a missing or malformed value is a UsageError. */
export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): LambdaSettings {
  const value = (name: string): string | undefined => (env[name] === '' ? undefined : env[name]);
  const uri = value(ENV.uri);
  const store = value(ENV.store);
  const topology = topologySettingOf(value(TOPOLOGY_ENV));
  if (!uri && !topology) throw new UsageError(`${ENV.uri} is not set`, { hint: `set it in the function configuration (or ${TOPOLOGY_ENV} for a sharded cluster)` });
  if (!store) throw new UsageError(`${ENV.store} is not set`, { hint: 'set it to s3://bucket/prefix' });
  const endpoint = value(ENV.endpoint);
  const sse = value(LAMBDA_ENV.sse);
  if (sse !== undefined && sse !== 'AES256' && sse !== 'aws:kms') {
    throw new UsageError(`${LAMBDA_ENV.sse} ${sse}: expected AES256 or aws:kms`);
  }
  const baseEvery = value(LAMBDA_ENV.baseEvery);
  const margin = value(LAMBDA_ENV.safetyMarginMs);
  return {
    uri,
    topology,
    allowBalancer: /^(1|true|yes)$/i.test(value(ALLOW_BALANCER_ENV) ?? ''),
    store,
    storeOptions: { endpoint, region: value(ENV.region), forcePathStyle: endpoint !== undefined, sse, kmsKeyId: value(LAMBDA_ENV.sseKmsKeyId) },
    limits: parseChunkLimits(
      value(LAMBDA_ENV.chunkSizeMiB) ?? String(DEFAULT_CHUNK_BYTES / (1024 * 1024)),
      value(LAMBDA_ENV.chunkSpan) ?? `${DEFAULT_CHUNK_SPAN_SECONDS}s`,
      { size: LAMBDA_ENV.chunkSizeMiB, span: LAMBDA_ENV.chunkSpan },
    ),
    baseEveryMs: baseEvery === undefined ? undefined : parseDuration(baseEvery, LAMBDA_ENV.baseEvery),
    safetyMarginMs: margin === undefined ? DEFAULT_SAFETY_MARGIN_MS : parseMargin(margin),
    concurrency: parsePositiveInt(value(LAMBDA_ENV.concurrency) ?? String(DEFAULT_DUMP_CONCURRENCY), LAMBDA_ENV.concurrency),
    includeAuth: /^(1|true|yes)$/i.test(value(LAMBDA_ENV.includeAuth) ?? ''),
    ...pieceSetting(value(LAMBDA_ENV.basePieceMiB)),
  };
}

function pieceSetting(text: string | undefined): { pieceBytes?: number } {
  return text === undefined ? {} : { pieceBytes: pieceBytesOf(text, LAMBDA_ENV.basePieceMiB) };
}

function parseMargin(text: string): number {
  const ms = Number(text);
  if (!Number.isInteger(ms) || ms < 0) throw new UsageError(`${LAMBDA_ENV.safetyMarginMs} ${text}: expected whole milliseconds`);
  return ms;
}

/**
 * The invocation's two limits. `signal` fires `marginMs` before the deadline: work stops between
 * commits. Calls still in flight then (a slow server query, a store request) end by `hard.at`, a
 * quarter of the margin later: every server call carries the time left until it and its signal
 * (time-limit.ts), and every store request is aborted by that signal. The rest of the margin is
 * for closing the connections and returning, so the invocation ends well inside its timeout.
 */
export interface InvocationLimits {
  readonly signal: AbortSignal;
  readonly hard: Deadline;
  clear(): void;
}

export function deadlineSignal(context: LambdaContext, marginMs: number): InvocationLimits {
  const budgetMs = context.getRemainingTimeInMillis() - marginMs;
  const graceMs = Math.floor(marginMs / 4);
  const stop = deadlineIn(budgetMs, () => new Error(`stopped ${marginMs} ms before the invocation deadline`));
  const hard = deadlineIn(Math.max(0, budgetMs) + graceMs, () => new Error(`calls cut off ${marginMs - graceMs} ms before the invocation deadline`));
  return {
    signal: stop.signal,
    hard,
    clear: () => {
      stop.clear();
      hard.clear();
    },
  };
}

export type LambdaSummary = Record<string, unknown> & { readonly stoppedEarly: boolean };

export async function handler(_event: unknown, context: LambdaContext): Promise<LambdaSummary> {
  const startedAt = Date.now();
  const log = createLog({ json: true });
  let deadline: InvocationLimits | undefined;
  try {
    const settings = settingsFromEnv();
    deadline = deadlineSignal(context, settings.safetyMarginMs);
    const { signal, hard } = deadline;
    if (signal.aborted) {
      // No time left at all (a slow cold start can use it up): open nothing.
      const summary = { message: 'stopped early: no time left before the safety margin', durationMs: Date.now() - startedAt };
      log.event('lambda.result', summary.message, { requestId: context.awsRequestId, ...summary });
      return { ...summary, stoppedEarly: true };
    }
    // Public keys only (MONGO_PITR_ENCRYPT=age1…,age1…): the function can encrypt, never decrypt.
    // Or MONGO_PITR_ENCRYPT=kms:<key>: the function's role needs kms:GenerateDataKey only.
    const cipher = await loadCipher({ encrypt: pickList(undefined, ENV.encrypt, {}, 'encrypt'), kmsEndpoint: process.env[ENV.kmsEndpoint] || undefined });
    const opened = await openStore(settings.store, { ...settings.storeOptions, signal: hard.signal });
    const store = cipher ? attachCipher(opened, cipher) : opened;
    try {
      await store.check();
      const topology = await clusterTopologyOf(settings.topology, settings.uri);
      if (topology) {
        const { limits, baseEveryMs, allowBalancer } = settings;
        // A line per member stage as it starts and ends: an invocation cut off by its timeout
        // still leaves in the log which members got how far (the summary comes only at the end).
        const onMember = (member: string, event: string, message: string) => log.event(`lambda.member.${event}`, message, { requestId: context.awsRequestId, member });
        const result = await runCluster({ store, topology, limits, baseEveryMs, allowBalancer, signal, deadline: hard, onMember });
        const summary = { cluster: true, ...clusterRunReport(result), message: describeClusterRun(result).join('; '), durationMs: Date.now() - startedAt };
        log.event('lambda.result', summary.message, { requestId: context.awsRequestId, ...summary });
        return { ...summary, stoppedEarly: result.stoppedEarly };
      }
      if (!settings.uri) throw new UsageError(`${ENV.uri} is not set`);
      const source = await connectSource(settings.uri, { deadline: hard });
      try {
        const { limits, baseEveryMs, concurrency, includeAuth, pieceBytes } = settings;
        const result = await runDue({ source, store, limits, baseEveryMs, concurrency, includeAuth, signal, ...(pieceBytes && { pieceBytes }) });
        const summary = { ...runDueReport(result), message: describeRunDue(result).join('; '), durationMs: Date.now() - startedAt };
        log.event('lambda.result', summary.message, { requestId: context.awsRequestId, ...summary });
        return { ...summary, stoppedEarly: result.stoppedEarly };
      } finally {
        await source.client.close();
      }
    } finally {
      await store.close();
    }
  } catch (error) {
    // Past the stop signal a failure is the stop cutting a call short (connecting, checking the
    // store): whatever was committed stands, and the next invocation continues from the manifest.
    if (deadline && (deadline.signal.aborted || cutOffBy(error, deadline.hard))) {
      const summary = { message: 'stopped early: out of time; the next invocation continues from the manifest', durationMs: Date.now() - startedAt };
      log.event('lambda.result', summary.message, { requestId: context.awsRequestId, ...summary, cause: redactText(String(error)) });
      return { ...summary, stoppedEarly: true };
    }
    throw invocationError(error);
  } finally {
    deadline?.clear();
  }
}

/** The error Lambda records: the failure class and its hint in the message, secrets redacted. */
function invocationError(error: unknown): Error {
  const code = error instanceof PitrError ? error.code : 'internal';
  const message = error instanceof Error ? error.message : String(error);
  const hint = error instanceof PitrError && error.hint ? ` (${error.hint})` : '';
  const failure = new Error(redactText(`mongo-pitr ${code} error: ${message}${hint}`.replace(/\s*\n\s*/g, ' ')), { cause: error });
  failure.name = error instanceof PitrError ? error.name : 'InternalError';
  return failure;
}
