// The applier for targets without `applyOps` (FerretDB, DocumentDB, shared Atlas tiers): CRUD
// is folded in memory into each document's final state, and the final states of a namespace are
// written together; commands run through their own verbs.
//
// Why fold instead of replaying op by op: a batch often touches the same document many times,
// and one round trip per entry is what makes portable replay slow. Per namespace a batch costs
// one `find` (only for documents whose first entry in the batch is a modifier update, the only
// case where the stored state matters) and unordered `bulkWrite`s: deletes (`deleteMany` of
// `$in` lists of ids), then inserts (of documents the find showed absent), then upserts
// (`replaceOne`, upsert: true), each one command per 100,000 writes or 48 MB as the driver
// splits them.
// Memory bound: the batch itself plus the fetched documents of the ids it updates.
//
// FerretDB 1.x (SQLite backend, measured on 1.24) needs two detours, both detected by buildInfo:
//   - an `update` command hangs for good once about 100 of its statements, summed over the
//     update commands in flight, match existing documents: upserts go in commands of
//     FERRETDB_UPDATES_PER_COMMAND, one command in flight per client;
//   - an upsert that matches nothing scans the collection (~40 ms each at 3,000 documents) where
//     an insert does not: one more `find` (ids only) tells which documents are new, and those
//     are inserted (a duplicate key, if another writer got there first, falls back to upsert).
import { MongoBulkWriteError, MongoServerError } from 'mongodb';
import type { AnyBulkWriteOperation, ClientSession, Collection, Document, FindOptions, MongoClient } from 'mongodb';
import { TargetError } from '../errors.ts';
import { splitNs } from '../namespace.ts';
import type { OplogEntry } from '../oplog-entry.ts';
import { emptyApplyStats } from './applier.ts';
import type { Applier, ApplyStats, CommandPlan } from './applier.ts';
import { byId, byIdIn, chunkByIds, DEFAULT_IDS_PER_LIST, inList } from './id-filter.ts';
import { describeEntry, documentKey, foldDocument, groupByNamespace, planDocuments } from './fold-batch.ts';
import { decodeOrdered, type OrderedDoc } from '../ordered-document.ts';

/** Ids per `find({_id: {$in}})` and per `delete` statement. */
export const DEFAULT_IDS_PER_FIND = DEFAULT_IDS_PER_LIST;

/** Far enough below FerretDB 1.x's ~100 to leave room for another writer; see the top. */
export const FERRETDB_UPDATES_PER_COMMAND = 50;

const DUPLICATE_KEY = 11000;
/** Server answers meaning "this deployment runs no multi-document transactions". */
const NO_TRANSACTIONS = new Set([20 /* IllegalOperation */, 59 /* CommandNotFound */, 115 /* CommandNotSupported */]);

/**
 * Stored documents are read as raw BSON and decoded into OrderedDocs (ordered-document.ts):
 * that keeps every value's exact type through the read-modify-write (the driver's default would
 * turn an int64 or a whole double into a JS number, written back as int32) and every field's
 * place (a JS object would move integer-like names such as "10" first).
 */
const RAW_READ = { raw: true } as const;

export interface PortableApplierOptions {
  /** Whether the target runs multi-document transactions; detected once when absent. */
  transactions?: boolean;
  /** Most ids in one `find({_id: {$in}})` or one `delete` statement. */
  idsPerFind?: number;
  /**
   * Most upserts in one `update` command, one command in flight per client; detected when
   * absent (FERRETDB_UPDATES_PER_COMMAND on FerretDB, no limit elsewhere).
   */
  updatesPerCommand?: number;
  /** Ask which written documents exist, to insert the new ones; detected (FerretDB) when absent. */
  probeExistence?: boolean;
}

/** What this applier needs to know of the target, asked once. */
interface TargetTraits {
  readonly transactions: boolean;
  /** Upserts per `update` command, serialized per client; undefined: the driver's batching. */
  readonly updatesPerCommand: number | undefined;
  readonly probeExistence: boolean;
}

export class PortableApplier implements Applier {
  readonly mode = 'portable' as const;
  readonly stats: ApplyStats = emptyApplyStats();
  readonly #client: MongoClient;
  readonly #idsPerFind: number;
  readonly #options: PortableApplierOptions;
  #traits: Promise<TargetTraits> | undefined;

  constructor(client: MongoClient, options: PortableApplierOptions = {}) {
    this.#client = client;
    this.#idsPerFind = options.idsPerFind ?? DEFAULT_IDS_PER_FIND;
    this.#options = options;
  }

  async applyCrud(batch: readonly OplogEntry[], signal?: AbortSignal): Promise<void> {
    for (const [ns, entries] of groupByNamespace(batch)) {
      signal?.throwIfAborted();
      addStats(this.stats, await this.#applyNamespace(ns, entries, undefined, signal));
    }
  }

  async applyCommand(plan: CommandPlan, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    try {
      await this.#client.db(plan.db).command(plan.command);
    } catch (error) {
      if (!(error instanceof MongoServerError && plan.ignoreCodes.includes(Number(error.code)))) {
        const name = Object.keys(plan.command)[0] ?? 'command';
        throw new TargetError(`${describeEntry(plan.entry)}: ${name} failed: ${oneLine(error)}`, {
          cause: error,
          hint: 'fix the target (permissions, conflicting collection or index) or exclude the namespace',
        });
      }
      // An ignored code means "already so": the command ran in an earlier replay.
    }
    this.stats.commands++;
  }

  async applyTransaction(entries: readonly OplogEntry[], signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    const groups = groupByNamespace(entries);
    let applied: ApplyStats | undefined;
    if ((await this.#target()).transactions) applied = await this.#inTransaction(groups, signal);
    if (applied === undefined) {
      applied = emptyApplyStats();
      for (const [ns, group] of groups) {
        signal?.throwIfAborted();
        addStats(applied, await this.#applyNamespace(ns, group, undefined, signal));
      }
    }
    addStats(this.stats, applied);
    this.stats.transactions++;
  }

  /** The transaction's stats once committed, or undefined when the target refused transactions. */
  async #inTransaction(groups: Map<string, OplogEntry[]>, signal?: AbortSignal): Promise<ApplyStats | undefined> {
    const session = this.#client.startSession();
    try {
      // The callback may run again on a transient error, so each attempt counts afresh.
      return await session.withTransaction(async () => {
        const attempt = emptyApplyStats();
        for (const [ns, group] of groups) {
          signal?.throwIfAborted();
          addStats(attempt, await this.#applyNamespace(ns, group, session, signal));
        }
        return attempt;
      });
    } catch (error) {
      const code = error instanceof TargetError ? serverCode(error.cause) : serverCode(error);
      if (code === undefined || !NO_TRANSACTIONS.has(code)) throw error;
      // Nothing committed; remember and apply in order instead.
      const traits = await this.#target();
      this.#traits = Promise.resolve({ ...traits, transactions: false });
      return undefined;
    } finally {
      await session.endSession();
    }
  }

  #target(): Promise<TargetTraits> {
    if (this.#traits === undefined) {
      const probe = detectTraits(this.#client, this.#options);
      this.#traits = probe;
      // A failed probe is not remembered: the next call asks again.
      probe.catch(() => {
        if (this.#traits === probe) this.#traits = undefined;
      });
    }
    return this.#traits;
  }

  async #applyNamespace(ns: string, entries: readonly OplogEntry[], session: ClientSession | undefined,
    signal: AbortSignal | undefined): Promise<ApplyStats> {
    const { db, coll } = splitNs(ns);
    const collection = this.#client.db(db).collection(coll);
    const traits = await this.#target();
    const documents = planDocuments(entries);
    const needed = [...documents.values()].filter((plan) => plan.needsFetch).map((plan) => plan.id);
    const stored = await this.#find(collection, ns, needed, RAW_READ, session, signal);
    const stats = emptyApplyStats();
    const writes: PendingWrite[] = [];
    for (const [key, plan] of documents) {
      const initial = plan.needsFetch ? (stored.get(key) ?? null) : undefined;
      const doc = foldDocument(initial ?? null, plan.entries, stats);
      const source = plan.entries.at(-1);
      // Absent before and after (only updates of a missing document): nothing to write.
      if (source === undefined || (doc === null && initial === null)) continue;
      // A document whose batch starts with its insert is most likely new: insert it, and let a
      // duplicate key send it to the upsert retry. Inserts are far cheaper than upserts, and on
      // a fresh restore nearly every replayed insert is new. Not inside a transaction, where a
      // refused write aborts it.
      const likelyNew = initial === undefined && session === undefined && plan.entries[0]?.op === 'i';
      writes.push({ id: plan.id, key, doc, source, absent: initial === null || likelyNew });
    }
    if (traits.probeExistence) {
      const unknown = writes.filter((w) => w.doc !== null && !w.absent && !(documents.get(w.key)?.needsFetch ?? false));
      const existing = await this.#find(collection, ns, unknown.map((w) => w.id), { ...RAW_READ, projection: { _id: 1 } }, session, signal);
      for (const write of unknown) write.absent = !existing.has(write.key);
    }
    await this.#write(collection, ns, writes, session);
    return stats;
  }

  /** Deletes, then inserts, then upserts; then once more, as upserts, what a unique index refused. */
  async #write(collection: Collection, ns: string, writes: readonly PendingWrite[], session: ClientSession | undefined): Promise<void> {
    // Deletes first, so that a unique value they free is free for the writes after them.
    await this.#delete(collection, ns, writes.filter((w) => w.doc === null), session);
    const refused = [
      ...await writeBulk(collection, ns, writes.filter((w) => w.doc !== null && w.absent), false, session),
      ...await this.#upsert(collection, ns, writes.filter((w) => w.doc !== null && !w.absent), false, session),
    ];
    // A duplicate key: a unique value was still held by a document this batch changes, or an
    // insert found its _id taken. Both are settled once everything else has landed.
    const still = await this.#upsert(collection, ns, refused, true, session);
    const first = still[0];
    if (first !== undefined) {
      throw new TargetError(`${describeEntry(first.source)}: writing the replayed document failed twice on a duplicate key`, {
        hint: 'check the target for unique indexes the source did not have',
      });
    }
  }

  /**
   * Deletes as `deleteMany({_id: {$in: ids}})` statements of up to idsPerFind ids, all in one
   * unordered bulkWrite: one statement per document costs the server a statement each (on
   * FerretDB 1.x, most of replay's time). A regex `_id` gets a statement of its own (id-filter.ts).
   */
  async #delete(collection: Collection, ns: string, deletes: readonly PendingWrite[], session: ClientSession | undefined): Promise<void> {
    if (deletes.length === 0) return;
    const statements: { operation: AnyBulkWriteOperation; source: OplogEntry }[] = [];
    for (const chunk of chunkByIds(deletes.filter((w) => inList(w.id)), (w) => w.id, this.#idsPerFind)) {
      statements.push({ operation: { deleteMany: { filter: byIdIn(chunk.map((w) => w.id)) } }, source: chunk[0]!.source });
    }
    for (const write of deletes) {
      if (!inList(write.id)) statements.push({ operation: { deleteOne: { filter: byId(write.id) } }, source: write.source });
    }
    try {
      await collection.bulkWrite(statements.map((s) => s.operation), { ordered: false, session });
    } catch (error) {
      throw writeFailed(ns, statements[writeErrorsOf(error)[0]?.index ?? -1]?.source, error);
    }
  }

  /** Upserts in the target's command size, one command in flight per client where it has one. */
  async #upsert(collection: Collection, ns: string, writes: readonly PendingWrite[], retry: boolean,
    session: ClientSession | undefined): Promise<PendingWrite[]> {
    const perCommand = (await this.#target()).updatesPerCommand;
    if (perCommand === undefined) return writeBulk(collection, ns, writes, retry, session);
    const refused: PendingWrite[] = [];
    for (let start = 0; start < writes.length; start += perCommand) {
      const chunk = writes.slice(start, start + perCommand);
      refused.push(...await oneAtATime(this.#client, () => writeBulk(collection, ns, chunk, retry, session)));
    }
    return refused;
  }

  /** The stored documents of `ids` (as `options` project them; raw), by idKey, in chunked `$in` reads. */
  async #find(collection: Collection, ns: string, ids: readonly unknown[], options: FindOptions & typeof RAW_READ,
    session: ClientSession | undefined, signal: AbortSignal | undefined): Promise<Map<string, OrderedDoc>> {
    const found = new Map<string, OrderedDoc>();
    const filters = [
      ...chunkByIds(ids.filter(inList), (id) => id, this.#idsPerFind).map((chunk) => ({ filter: byIdIn(chunk), count: chunk.length })),
      ...ids.filter((id) => !inList(id)).map((id) => ({ filter: byId(id), count: 1 })),
    ];
    for (const { filter, count } of filters) {
      signal?.throwIfAborted();
      try {
        const raws = await collection.find(filter, { ...options, session, signal }).toArray();
        for (const raw of raws as unknown as Uint8Array[]) {
          const doc = decodeOrdered(raw);
          found.set(documentKey(doc.get('_id')), doc);
        }
      } catch (error) {
        throw new TargetError(`${ns}: reading ${count} documents to update failed: ${oneLine(error)}`, { cause: error });
      }
    }
    return found;
  }
}

/** One document's final state, to be written. */
interface PendingWrite {
  readonly id: unknown;
  readonly key: string;
  /** null: delete it. An OrderedDoc, which the driver serializes in its field order. */
  readonly doc: OrderedDoc | null;
  /** The entry that decided the state, named in errors. */
  readonly source: OplogEntry;
  /** Known not to be stored: an insert will do. */
  absent: boolean;
}

function writeOperation(write: PendingWrite, retry: boolean): AnyBulkWriteOperation {
  if (write.doc === null) return { deleteOne: { filter: byId(write.id) } };
  // A Map is written as a BSON document in its own order (bson serializer.ts); typed as Document for the driver.
  const doc = write.doc as unknown as Document;
  if (write.absent && !retry) return { insertOne: { document: doc } };
  return { replaceOne: { filter: byId(write.id), replacement: doc, upsert: true } };
}

/**
 * One unordered bulkWrite (`retry`: every write as an upsert or a delete). Returns the writes
 * refused with a duplicate key, for the caller to retry once; any other refusal, and any inside
 * a transaction (which it aborts), is an error naming the entry that decided the document.
 */
async function writeBulk(collection: Collection, ns: string, writes: readonly PendingWrite[], retry: boolean,
  session: ClientSession | undefined): Promise<PendingWrite[]> {
  if (writes.length === 0) return [];
  try {
    // The source accepted these documents: the target's validator (from the base) must not refuse them.
    // forceServerObjectId: every document has its _id; the driver must not look for one as a property.
    await collection.bulkWrite(writes.map((w) => writeOperation(w, retry)),
      { ordered: false, session, bypassDocumentValidation: true, forceServerObjectId: true });
    return [];
  } catch (error) {
    const failed = writeErrorsOf(error);
    const fatal = failed.find((e) => e.code !== DUPLICATE_KEY) ?? (session === undefined ? undefined : failed[0]);
    if (failed.length === 0 || fatal !== undefined) throw writeFailed(ns, writes[fatal?.index ?? -1]?.source, error);
    return failed.map((e) => writes[e.index]).filter((w) => w !== undefined);
  }
}

/** The tail of each client's chain of FerretDB update commands. */
const updateChains = new WeakMap<MongoClient, Promise<unknown>>();

/** Runs `task` after every task queued before it for the same client has settled. */
function oneAtATime<T>(client: MongoClient, task: () => Promise<T>): Promise<T> {
  const previous = updateChains.get(client) ?? Promise.resolve();
  const run = previous.then(task, task);
  updateChains.set(client, run.catch(() => undefined));
  return run;
}

function writeErrorsOf(error: unknown): Array<{ index: number; code: number }> {
  if (!(error instanceof MongoBulkWriteError)) return [];
  const list = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
  return list.map((e) => ({ index: e.index, code: e.code }));
}

function writeFailed(ns: string, source: OplogEntry | undefined, error: unknown): TargetError {
  const where = source === undefined ? ns : describeEntry(source);
  return new TargetError(`${where}: writing the replayed documents failed: ${oneLine(error)}`, {
    cause: error,
    hint: 'check the target for permissions and for unique indexes the source did not have',
  });
}

async function detectTraits(client: MongoClient, options: PortableApplierOptions): Promise<TargetTraits> {
  const { transactions: givenTransactions, updatesPerCommand, probeExistence } = options;
  if (givenTransactions !== undefined && updatesPerCommand !== undefined && probeExistence !== undefined) {
    return { transactions: givenTransactions, updatesPerCommand, probeExistence };
  }
  const admin = client.db('admin');
  const hello = await admin.command({ hello: 1 });
  // FerretDB answers hello like a replica set with sessions, but runs no transactions.
  const ferretdb = Object.hasOwn(await admin.command({ buildInfo: 1 }), 'ferretdbVersion');
  const mongos = hello.msg === 'isdbgrid';
  // Transactions need sessions and a replica set (wire version 7, MongoDB 4.0) or mongos (8, 4.2).
  const transactions = !ferretdb && (mongos || typeof hello.setName === 'string') &&
    hello.logicalSessionTimeoutMinutes != null && Number(hello.maxWireVersion ?? 0) >= (mongos ? 8 : 7);
  return {
    transactions: givenTransactions ?? transactions,
    updatesPerCommand: updatesPerCommand ?? (ferretdb ? FERRETDB_UPDATES_PER_COMMAND : undefined),
    probeExistence: probeExistence ?? ferretdb,
  };
}

function addStats(into: ApplyStats, from: ApplyStats): void {
  into.inserted += from.inserted;
  into.updated += from.updated;
  into.deleted += from.deleted;
  into.missing += from.missing;
  into.commands += from.commands;
  into.transactions += from.transactions;
}

function serverCode(error: unknown): number | undefined {
  return error instanceof MongoServerError && typeof error.code === 'number' ? error.code : undefined;
}

function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/\s*\n\s*/g, ' ');
}
