// --nsInclude/--nsExclude for an export. mongorestore refuses --oplogReplay together with
// namespace filters (mongo-tools mongorestore/mongorestore.go, ParseAndValidateOptions: "cannot
// use --oplogReplay with includes specified"), so the dump folder itself holds only the
// selection: the collections, and the oplog entries restore's namespace rules would apply
// (namespace-mapper.ts; internal namespaces are left out too).
// A transaction's applyOps entry stays, with only its selected operations: dropping the entry
// would break the chain of a multi-entry transaction (prevOpTime) mongorestore follows.
// Only filtered exports decode entries; the memory bound stays one entry.
import { BSON } from 'mongodb';
import { decodeOplogEntry } from '../archive/bson-decode.ts';
import type { OplogEntry } from '../oplog-entry.ts';
import { compileNamespaceMapper, type NamespaceMapper } from '../restore/namespace-mapper.ts';

export interface NamespaceSelection {
  /** True when the base collection goes into the export. */
  collection(ns: string): boolean;
  /** The raw entries to write for one archived entry: none, itself, or it re-encoded. */
  entries(raw: Buffer): Buffer[];
}

export function selectNamespaces(options: { include?: readonly string[]; exclude?: readonly string[] } | undefined): NamespaceSelection | undefined {
  if (!options || ((options.include?.length ?? 0) === 0 && (options.exclude?.length ?? 0) === 0)) return undefined;
  const mapper = compileNamespaceMapper({ include: options.include, exclude: options.exclude });
  return {
    collection: (ns) => mapper.map(ns) !== undefined,
    entries: (raw) => selectedEntries(mapper, raw),
  };
}

function selectedEntries(mapper: NamespaceMapper, raw: Buffer): Buffer[] {
  const entry = decodeOplogEntry(raw);
  if (entry.op === 'c' && Array.isArray(entry.o.applyOps)) return [encode({ ...entry, o: { ...entry.o, applyOps: selectedOps(mapper, entry) } })];
  const mapping = mapper.mapEntry(entry);
  if ('skip' in mapping) return [];
  // Without renames the mapper returns the entry itself, so it is written as it was archived.
  return mapping.apply.map((kept) => (kept === entry ? raw : encode(kept)));
}

function selectedOps(mapper: NamespaceMapper, entry: OplogEntry): unknown[] {
  const ops = entry.o.applyOps as OplogEntry[];
  return ops.filter((op) => 'apply' in mapper.mapEntry({ ...op, ts: entry.ts }));
}

function encode(entry: OplogEntry): Buffer {
  return Buffer.from(BSON.serialize(entry));
}
