// Folding a batch of CRUD entries, in memory, into each document's final state: the entries
// grouped by namespace, then by document (_id compared as the _id index does, id-key.ts), then
// applied one after the other to the document's state before the batch.
import { TargetError } from '../errors.ts';
import type { OplogEntry } from '../oplog-entry.ts';
import { DBRef } from 'mongodb';
import { orderedOf, toPlain, type OrderedDoc } from '../ordered-document.ts';
import { isSubDocument } from './delta-v2.ts';
import { formatTs, tsFromBson } from '../timestamp.ts';
import type { ApplyStats } from './applier.ts';
import { idKey } from './id-key.ts';
import { applyUpdate, classifyUpdate } from './modifiers-v1.ts';

/** Entries by namespace, each list in oplog order. */
export function groupByNamespace(entries: readonly OplogEntry[]): Map<string, OplogEntry[]> {
  const groups = new Map<string, OplogEntry[]>();
  for (const entry of entries) {
    const group = groups.get(entry.ns);
    if (group === undefined) groups.set(entry.ns, [entry]);
    else group.push(entry);
  }
  return groups;
}

export interface DocumentPlan {
  readonly id: unknown;
  readonly entries: OplogEntry[];
  /** Its first entry is a modifier update: the stored document is needed. */
  readonly needsFetch: boolean;
}

/** A batch's entries of one namespace by document, keyed by idKey, in oplog order. */
export function planDocuments(entries: readonly OplogEntry[]): Map<string, DocumentPlan> {
  const plans = new Map<string, DocumentPlan>();
  for (const entry of entries) {
    if (entry.op === 'n') continue;
    const id = documentId(entry);
    const key = documentKey(id);
    const plan = plans.get(key);
    if (plan !== undefined) {
      plan.entries.push(entry);
    } else {
      const needsFetch = entry.op === 'u' && classifyUpdate(entry.o) !== 'replacement';
      plans.set(key, { id, entries: [entry], needsFetch });
    }
  }
  return plans;
}

/**
 * One document's entries in oplog order, from its state before the batch (null: absent). The
 * result keeps BSON field order: an inserted document is its entry's `o` as logged (orderedOf).
 */
export function foldDocument(initial: OrderedDoc | null, entries: readonly OplogEntry[], stats: ApplyStats): OrderedDoc | null {
  let doc = initial;
  for (const entry of entries) {
    if (entry.op === 'i') {
      // An insert replayed over an existing document acts as an upsert (the Applier contract).
      doc = orderedOf(entry.o);
      stats.inserted++;
    } else if (entry.op === 'u') {
      const next = applyUpdate(doc, entry);
      if (next === null) stats.missing++;
      else stats.updated++;
      doc = next;
    } else {
      doc = null;
      stats.deleted++;
    }
  }
  return doc;
}

function documentId(entry: OplogEntry): unknown {
  if (entry.op !== 'i' && entry.op !== 'u' && entry.op !== 'd') {
    throw new TargetError(`${describeEntry(entry)}: op "${entry.op}" is not a CRUD entry`);
  }
  const holder = entry.op === 'u' ? entry.o2 : entry.o;
  const id: unknown = holder?._id;
  if (id === undefined || holder === undefined) throw new TargetError(`${describeEntry(entry)}: ${entry.op} entry has no _id`);
  // An embedded-document _id is matched field by field in order: take it in its BSON order.
  return id !== null && typeof id === 'object' && (isSubDocument(id) || id instanceof DBRef) ? orderedOf(holder).get('_id') : id;
}

/** The idKey of a document id, an OrderedDoc (embedded-document _id) included. */
export function documentKey(id: unknown): string {
  return idKey(id instanceof Map ? toPlain(id) : id);
}

/** How errors name an entry. */
export function describeEntry(entry: OplogEntry): string {
  return `${entry.ns} @ ${formatTs(tsFromBson(entry.ts))}`;
}
