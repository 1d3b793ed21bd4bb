// Searching the archive without restoring: which ops touched an _id, a namespace's deletes, the
// first dropDatabase. Reads the oplog objects of every chain oldest first, checking each one's
// size and sha256 as it streams, and reports the entries a filter matches. The inner ops of an
// applyOps entry (a transaction, or a batched write) are matched one by one, each at its
// entry's ts, and say whether they belong to a transaction.
//
// Memory bound: one BSON entry at a time, plus the matches of the object being read: an
// object's matches are reported only once its sha256 checked out, so nothing is printed from a
// corrupt object.
import { BSON, type Document } from 'mongodb';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { readBsonFile, readBsonFrames } from '../archive/bson-frames.ts';
import { DigestStream } from '../archive/digest.ts';
import type { Chunk, OplogObject } from '../archive/manifest.ts';
import { chainsOfSource, type SourceChoice } from '../archive/source-choice.ts';
import { readOplogHeader, type OplogHeader } from '../archive/oplog-header.ts';
import { readManifest } from '../backup/commit.ts';
import { IntegrityError, StoreError, UsageError } from '../errors.ts';
import type { OplogEntry } from '../oplog-entry.ts';
import type { Store } from '../store/store.ts';
import { compareTs, formatTs, isBeforeCutoff, maxTs, parseCutoff, tsFromBson, type Cutoff, type Ts } from '../timestamp.ts';
import { checkDigest, getRecorded } from './download-chain.ts';
import { decryptStageOf } from '../crypt/store-cipher.ts';
import { idKey } from '../target/id-key.ts';
import { compileNamespaceRules, type NamespaceRules } from './namespace-rules.ts';
import { counted } from '../words.ts';

// ---- the filter -------------------------------------------------------------------------

/** What to look for; every criterion given must hold. */
export interface OpFilterSpec {
  /** Namespace patterns, mongorestore --nsInclude syntax ("shop.*"). */
  readonly ns?: readonly string[];
  /** Op types: i, u, d, c, n (or insert, update, delete, command, noop). */
  readonly op?: readonly string[];
  /** Command names (the first field of a command's `o`): drop, dropDatabase, ... */
  readonly command?: readonly string[];
  /** The document's _id, already decoded from extended JSON. */
  readonly id?: unknown;
  /** Only ops at or after this time (the forms --until takes). */
  readonly from?: string;
  /** Only ops before this time. */
  readonly until?: string;
}

export const FILTER_EXAMPLE = `'{"op":"c","command":"dropDatabase","ns":"shop.*"}'`;
const FILTER_KEYS = ['ns', 'op', 'command', 'id', 'from', 'until'] as const;
const OP_NAMES: Readonly<Record<string, string>> = {
  i: 'i', u: 'u', d: 'd', c: 'c', n: 'n', insert: 'i', update: 'u', delete: 'd', command: 'c', noop: 'n',
};

export interface OpFilter {
  /** The filter as the user gave it, for messages. */
  readonly text: string;
  /** True when something beyond a time range narrows the ops down. */
  readonly selective: boolean;
  readonly from: Cutoff | undefined;
  readonly until: Cutoff | undefined;
  /** Whether an entry with this header can match at all (commands are always decoded). */
  mayMatchHeader(header: OplogHeader): boolean;
  /** Whether an object can hold a match, by its ts bounds and (for chunks) its stats. */
  mayMatchObject(object: OplogObject | Chunk): boolean;
  matches(candidate: Candidate): boolean;
}

/**
 * Parses a filter given as one JSON object, e.g. {"op":"d","ns":"shop.orders","id":{"$oid":"…"}};
 * `id` is extended JSON. Each of ns, op and command takes a string or an array of strings.
 */
export function parseOpFilterJson(text: string, flag: string): OpFilterSpec {
  let value: unknown;
  try {
    value = BSON.EJSON.parse(text, { relaxed: true });
  } catch (error) {
    throw new UsageError(`${flag}: not a JSON filter (${(error as Error).message})`, { cause: error, hint: `e.g. ${FILTER_EXAMPLE}` });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UsageError(`${flag}: the filter must be a JSON object`, { hint: `e.g. ${FILTER_EXAMPLE}` });
  }
  const record = value as Record<string, unknown>;
  const unknown = Object.keys(record).filter((key) => !(FILTER_KEYS as readonly string[]).includes(key));
  if (unknown.length > 0) throw new UsageError(`${flag}: unknown filter field ${unknown.join(', ')} (known: ${FILTER_KEYS.join(', ')})`);
  const strings = (key: string): string[] | undefined => {
    const field = record[key];
    if (field === undefined) return undefined;
    const list = Array.isArray(field) ? field : [field];
    if (!list.every((item) => typeof item === 'string')) throw new UsageError(`${flag}: "${key}" must be a string or an array of strings`);
    return list as string[];
  };
  const time = (key: string): string | undefined => {
    const field = record[key];
    if (field === undefined || typeof field === 'string') return field;
    if (typeof field === 'number') return String(field);
    throw new UsageError(`${flag}: "${key}" must be a time string or epoch seconds`);
  };
  return { ns: strings('ns'), op: strings('op'), command: strings('command'), id: record.id, from: time('from'), until: time('until') };
}

/** Joins the flags and a JSON filter; a criterion given both ways is a UsageError. */
export function mergeOpFilterSpecs(a: OpFilterSpec, b: OpFilterSpec): OpFilterSpec {
  const merged: Record<string, unknown> = {};
  for (const key of FILTER_KEYS) {
    const first = (a as Record<string, unknown>)[key];
    const second = (b as Record<string, unknown>)[key];
    const given = (value: unknown): boolean => value !== undefined && !(Array.isArray(value) && value.length === 0);
    if (given(first) && given(second)) throw new UsageError(`the filter's "${key}" is given both as a flag and in the JSON filter`);
    merged[key] = given(first) ? first : second;
  }
  return merged as OpFilterSpec;
}

/** Parses --id: extended JSON, e.g. 42, "abc", {"$oid":"…"}. */
export function parseIdJson(text: string): unknown {
  try {
    return BSON.EJSON.parse(text, { relaxed: true });
  } catch (error) {
    throw new UsageError(`--id ${text}: not extended JSON (${(error as Error).message})`, {
      cause: error,
      hint: `quote strings and use EJSON for other types: --id '"abc"' or --id '{"$oid":"…"}'`,
    });
  }
}

export function compileOpFilter(spec: OpFilterSpec, text: string): OpFilter {
  const ops = spec.op?.length ? new Set(spec.op.map(opLetter)) : undefined;
  const commands = spec.command?.length ? new Set(spec.command) : undefined;
  const rules = spec.ns?.length ? namespaceRules(spec.ns) : undefined;
  const wantedId = spec.id === undefined ? undefined : idKey(spec.id);
  const from = spec.from === undefined ? undefined : parseCutoff(spec.from, '--from');
  const until = spec.until === undefined ? undefined : parseCutoff(spec.until, '--until');
  const inTime = (ts: Ts, wall: Date | undefined): boolean =>
    (!from || !isBeforeCutoff(ts, wall, from)) && (!until || isBeforeCutoff(ts, wall, until));
  return {
    text,
    selective: Boolean(ops || commands || rules || wantedId !== undefined),
    from,
    until,
    mayMatchHeader(header) {
      if (!inTime(header.ts, header.wall)) return false;
      if (header.op === 'c') return true; // applyOps may hold anything; commands name namespaces in `o`
      if (commands) return false;
      return (!ops || ops.has(header.op)) && (!rules || rules.accepts(header.ns));
    },
    mayMatchObject(object) {
      if (object.count === 0) return false;
      if (from && object.lastTs.t < from.ts.t) return false;
      if (until && object.firstTs.t > until.ts.t) return false;
      // No per-namespace statistics: a base's oplog, or an encrypted chunk (they stay inside it).
      if (!('stats' in object) || object.encryption !== undefined) return true;
      return Object.entries(object.stats.byNs).some(([ns, counts]) =>
        ns.endsWith('.$cmd') || (!commands && (!rules || rules.accepts(ns)) && (!ops || [...ops].some((op) => (counts[op] ?? 0) > 0))));
    },
    matches(candidate) {
      const { doc } = candidate;
      if (!inTime(candidate.ts, candidate.wall)) return false;
      if (ops && !ops.has(doc.op)) return false;
      if (commands && (doc.op !== 'c' || !commands.has(commandName(doc) ?? ''))) return false;
      if (rules && !namespacesOf(doc).some((ns) => rules.accepts(ns))) return false;
      if (wantedId !== undefined && !sameId(idOf(doc), wantedId)) return false;
      return true;
    },
  };
}

function opLetter(op: string): string {
  const letter = OP_NAMES[op];
  if (!letter) throw new UsageError(`--op ${op}: expected one of i, u, d, c, n (insert, update, delete, command, noop)`);
  return letter;
}

function namespaceRules(patterns: readonly string[]): NamespaceRules {
  try {
    return compileNamespaceRules({ include: patterns });
  } catch (error) {
    if (error instanceof UsageError) throw new UsageError(error.message.replace('--nsInclude', '--ns'), { cause: error });
    throw error;
  }
}

/**
 * One op an entry holds: the entry itself, or an inner op of its applyOps, placed at the entry's
 * ts and wall.
 */
export interface Candidate {
  readonly doc: Document;
  readonly ts: Ts;
  readonly wall: Date | undefined;
  readonly inTransaction: boolean;
}

/** The entry, then the inner ops of an applyOps (nested ones flattened). */
export function candidatesOf(entry: OplogEntry): Candidate[] {
  const ts = tsFromBson(entry.ts);
  const wall = entry.wall instanceof Date ? entry.wall : undefined;
  const inner = entry.op === 'c' ? innerOps(entry.o, entry.ns) : [];
  // As transaction-buffer.ts reads it: a session's applyOps is a transaction, unless it is an
  // 8.0+ vectored write applied op by op (multiOpType 1).
  const inTransaction = inner.length > 0 && entry.lsid !== undefined && entry.txnNumber !== undefined && String(entry.multiOpType ?? '') !== '1';
  return [entry, ...inner].map((doc) => ({ doc, ts, wall, inTransaction }));
}

function innerOps(o: unknown, outerNs: string): Document[] {
  const list = isDocument(o) ? o.applyOps : undefined;
  if (!Array.isArray(list)) return [];
  return list.flatMap((op: unknown) => {
    if (!isDocument(op) || typeof op.op !== 'string' || !isDocument(op.o)) return [];
    const doc = { ...op, ns: typeof op.ns === 'string' ? op.ns : outerNs };
    return op.op === 'c' && 'applyOps' in op.o ? [doc, ...innerOps(op.o, outerNs)] : [doc];
  });
}

function commandName(doc: Document): string | undefined {
  return isDocument(doc.o) ? Object.keys(doc.o)[0] : undefined;
}

/** The namespaces an op touches: its own, plus those a command names in `o`. */
function namespacesOf(doc: Document): string[] {
  const ns = String(doc.ns);
  if (doc.op !== 'c' || !isDocument(doc.o)) return [ns];
  const name = commandName(doc);
  const db = ns.slice(0, Math.max(0, ns.indexOf('.')));
  if (name === 'renameCollection') return [ns, String(doc.o.renameCollection), String(doc.o.to)];
  const value = name === undefined ? undefined : doc.o[name];
  return typeof value === 'string' ? [ns, `${db}.${value}`] : [ns];
}

function idOf(doc: Document): unknown {
  if (doc.op === 'u') return (isDocument(doc.o2) ? doc.o2._id : undefined) ?? (isDocument(doc.o) ? doc.o._id : undefined);
  if (doc.op === 'i' || doc.op === 'd') return isDocument(doc.o) ? doc.o._id : undefined;
  return undefined;
}

/** An op's _id (undefined: it has none) against --id's idKey: equal as MongoDB's _id index holds them. */
function sameId(id: unknown, wanted: string): boolean {
  return id !== undefined && idKey(id) === wanted;
}

function isDocument(value: unknown): value is Document {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ---- what a match reports ------------------------------------------------------------------

export interface FoundOp {
  readonly ts: Ts;
  readonly wall: string | null;
  readonly ns: string;
  readonly op: string;
  /** The command's name for op "c". */
  readonly command: string | null;
  /** The _id of an insert, update or delete. */
  readonly id: unknown;
  /** An inner op of a transaction's applyOps (or that applyOps itself). */
  readonly inTransaction: boolean;
  readonly summary: string;
  /** Where it was found: the chain and object key (a file path for local files). */
  readonly chainId: string | null;
  readonly key: string;
}

const SUMMARY_CHARS = 120;

function foundOf(candidate: Candidate, where: { chainId: string | null; key: string }): FoundOp {
  const { doc } = candidate;
  const id = idOf(doc);
  return {
    ts: candidate.ts,
    wall: candidate.wall ? candidate.wall.toISOString() : null,
    ns: String(doc.ns),
    op: String(doc.op),
    command: doc.op === 'c' ? (commandName(doc) ?? null) : null,
    id,
    inTransaction: candidate.inTransaction,
    summary: summarize(doc, id),
    ...where,
  };
}

function summarize(doc: Document, id: unknown): string {
  const o = isDocument(doc.o) ? doc.o : {};
  const idText = id === undefined ? '' : `_id ${short(BSON.EJSON.stringify(id, { relaxed: true }))}`;
  switch (doc.op) {
    case 'i': {
      const { _id: _skipped, ...rest } = o;
      return `${idText} ${short(rest)}`;
    }
    case 'u':
      return `${idText} ${short(o)}`;
    case 'd':
      return idText;
    case 'n':
      return typeof o.msg === 'string' ? short(o.msg) : short(o);
    default:
      return commandSummary(doc, o);
  }
}

function commandSummary(doc: Document, o: Document): string {
  const name = commandName(doc) ?? '?';
  if (name === 'applyOps') {
    const count = Array.isArray(o.applyOps) ? o.applyOps.length : 0;
    const marks = [o.partialTxn === true || doc.partialTxn === true ? 'partial' : '', o.prepare === true || doc.prepare === true ? 'prepared' : ''].filter(Boolean);
    return `applyOps: ${counted(count, 'op')}${marks.length > 0 ? ` (${marks.join(', ')})` : ''}`;
  }
  if (name === 'renameCollection') return `renameCollection ${String(o.renameCollection)} -> ${String(o.to)}`;
  const value = o[name];
  return typeof value === 'string' ? `${name} ${value}` : name;
}

function short(value: unknown): string {
  const text = typeof value === 'string' ? value : (BSON.EJSON.stringify(value, { relaxed: true }) ?? String(value));
  return text.length > SUMMARY_CHARS ? `${text.slice(0, SUMMARY_CHARS - 1)}…` : text;
}

/** One line: ts, wall, op, ns, summary. */
export function formatFoundOp(found: FoundOp): string {
  return `${formatTs(found.ts)}  ${found.wall ?? '-'}  ${found.op}  ${found.ns}  ${found.summary}${found.inTransaction ? '  [in a transaction]' : ''}`;
}

/** A JSON-friendly copy: ts as "secs:ordinal", the _id as relaxed extended JSON. */
export function foundOpToJson(found: FoundOp): Record<string, unknown> {
  return { ...found, ts: formatTs(found.ts), id: found.id === undefined ? null : BSON.EJSON.serialize({ id: found.id }, { relaxed: true }).id };
}

// ---- scanning -------------------------------------------------------------------------------

/** Where an op was found: the chain and object key (a file path for local files). */
export interface Where {
  readonly chainId: string | null;
  readonly key: string;
}

/** The first op of a decoded entry the filter matches (the entry, or an inner op), or undefined. */
export function firstMatchIn(entry: OplogEntry, filter: OpFilter, where: Where): FoundOp | undefined {
  const candidate = candidatesOf(entry).find((c) => filter.matches(c));
  return candidate && foundOf(candidate, where);
}

/** The matches in one raw entry, skipping entries at or before `after` (already scanned). */
function matchRaw(raw: Buffer, filter: OpFilter, where: Where, after: Ts | undefined): FoundOp[] {
  const header = readOplogHeader(raw);
  if (after && compareTs(header.ts, after) <= 0) return [];
  if (!filter.mayMatchHeader(header)) return [];
  const entry = BSON.deserialize(raw) as OplogEntry;
  return candidatesOf(entry).filter((candidate) => filter.matches(candidate)).map((candidate) => foundOf(candidate, where));
}

/** Searches a local oplog file (plain or gzip BSON: an archived object, a mongodump oplog.bson). */
export async function* findOpsInFile(path: string, filter: OpFilter, options: { signal?: AbortSignal } = {}): AsyncGenerator<FoundOp> {
  for await (const raw of readBsonFile(path, { signal: options.signal })) yield* matchRaw(raw, filter, { chainId: null, key: path }, undefined);
}

export interface FindOpsOptions {
  readonly store: Store;
  readonly filter: OpFilter;
  /** Stop after this many matches. */
  readonly limit?: number;
  /** Which source's chains, where the store holds several (--set-name, --replica-set-id). */
  readonly source?: SourceChoice;
  readonly signal?: AbortSignal;
  /** Each oplog object: read, or skipped by its bounds and stats. */
  readonly onObject?: (key: string, read: boolean) => void;
}

/**
 * Every archived op the filter matches in one source's chains (source-choice.ts: the store's
 * only source, or the one named), oldest first. Its chains can overlap (a new base's oplog
 * repeats the end of the chain before it): each op is reported once.
 */
export async function* findOps(options: FindOpsOptions): AsyncGenerator<FoundOp> {
  const { store, filter, signal } = options;
  const { manifest } = await readManifest(store);
  let remaining = options.limit ?? Number.POSITIVE_INFINITY;
  const mark = { upTo: { t: 0, i: 0 } as Ts };
  for (const chain of chainsOfSource(manifest, options.source)) {
    for (const object of [chain.base.oplog, ...chain.chunks]) {
      if (remaining <= 0) return;
      const after = mark.upTo;
      if (compareTs(object.lastTs, after) <= 0) continue;
      const read = filter.mayMatchObject(object);
      options.onObject?.(object.key, read);
      if (read) {
        const found = await scanObject(store, object, filter, { chainId: chain.id, key: object.key }, after, remaining, signal);
        remaining -= found.length;
        yield* found;
      }
      mark.upTo = maxTs(after, object.lastTs);
    }
  }
}

/** The oldest archived op the filter matches, or undefined. */
export async function findFirstOp(store: Store, filter: OpFilter, signal?: AbortSignal, source?: SourceChoice): Promise<FoundOp | undefined> {
  for await (const found of findOps({ store, filter, limit: 1, signal, source })) return found;
  return undefined;
}

/** --before-first found nothing: one error for a replica-set store and a cluster store alike. */
export function noFirstOpError(filter: OpFilter): UsageError {
  return new UsageError(`no archived op matches --before-first ${filter.text}`, {
    hint: 'try the filter with mongo-pitr find, and widen the namespace pattern or time range',
  });
}

/** Streams one object, keeping up to `max` matches; throws IntegrityError if it is corrupt. */
async function scanObject(store: Store, object: OplogObject, filter: OpFilter, where: Where, after: Ts, max: number, signal?: AbortSignal): Promise<FoundOp[]> {
  const found: FoundOp[] = [];
  await readObjectEntries(store, object, (raw) => {
    // Past `max`, the rest is still read: the sha256 needs every byte.
    if (found.length < max) found.push(...matchRaw(raw, filter, where, after));
  }, signal);
  return found.slice(0, max);
}

/**
 * Streams one archived oplog object, handing each raw BSON entry to `onEntry`, then checks its
 * size and sha256; a corrupt object is an IntegrityError. Whatever `onEntry` kept from it may be
 * used only once this resolves. Memory: one entry at a time.
 */
export async function readObjectEntries(store: Store, object: OplogObject, onEntry: (raw: Buffer) => void, signal?: AbortSignal): Promise<void> {
  const decrypt = decryptStageOf(store, object);
  const body = await getRecorded(store, object, signal);
  const digest = new DigestStream();
  try {
    await pipeline(body, digest, decrypt, createGunzip(), async (source: AsyncIterable<Buffer>) => {
      for await (const raw of readBsonFrames(source, { label: object.key })) onEntry(raw);
    }, { signal });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('Z_')) {
      throw new IntegrityError(`${object.key} is corrupt: ${(error as Error).message}`, { cause: error, hint: 'run mongo-pitr verify' });
    }
    throw error;
  }
  checkDigest(object, digest);
}
