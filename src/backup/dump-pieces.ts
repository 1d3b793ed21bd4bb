// A collection dumped in resumable pieces, so that one larger than a run's deadline (a Lambda
// invocation) still gets into a base: the documents are read in _id order and cut into pieces
// of about `pieceBytes` raw bytes, each stored as its own object and committed to the pending
// base as soon as it is sealed, with the _id it ends at. A run stopped by its signal loses only
// the piece it was writing; the next run resumes the collection right after the last sealed
// piece's last _id (source/resume-bound.ts), not from its first document.
//
// Why a dump spread over runs is still exact: the base's oplog is read from T0, before the first
// piece, to T1, after the last. The _id is immutable, so no update moves a document across a
// resume point: a document is in exactly one piece unless it was deleted (then absent, and its
// delete is in the oplog) or inserted after T0 behind a resume point (then absent from the dump,
// and its insert is in the oplog); a document updated after its piece was read is stored older,
// and its update is in the oplog. Replaying [T0, T1] over the pieces gives the state at T1, as
// for a collection dumped in one go (take-base.ts).
//
// Memory bound: one document in hand between pieces, and storeGzipped's buffers for the piece.
import { UsageError } from '../errors.ts';
import type { CatalogEntry } from '../source/catalog.ts';
import type { Source } from '../source/connect-source.ts';
import { dumpCollection } from '../source/dump-collection.ts';
import { decodeBound, encodeBound, idOf } from '../source/resume-bound.ts';
import type { CollectionEntry, PartialCollection, StoredObject } from '../archive/manifest.ts';
import { collectionDataKey, collectionPieceKey } from '../archive/object-keys.ts';
import type { Store } from '../store/store.ts';
import { storeGzipped } from './store-object.ts';

const MiB = 1024 * 1024;
/** Raw bytes per piece: one piece is what a stopped run can lose. */
export const DEFAULT_PIECE_BYTES = 64 * MiB;

/** A piece size given in MiB (`--piece-size`, MONGO_PITR_BASE_PIECE_MIB); fractions allowed. */
export function pieceBytesOf(text: string, name: string): number {
  const mib = Number(text);
  if (text.trim() === '' || !Number.isFinite(mib) || mib <= 0) throw new UsageError(`${name} ${text}: expected a positive number of MiB`);
  return Math.ceil(mib * MiB);
}

/**
 * Whether a collection is dumped in pieces: only an ordinary collection scanned by a plain `_id`
 * index. Left whole, as before: views (no documents), time-series buckets, capped collections
 * (their documents must stay in insertion order: restore/load-base.ts), clustered collections
 * (options.clusteredIndex: no `_id` index to hint; src/mongo/db/catalog/clustered_collection_options.idl),
 * a collection or `_id` index with a collation (its string order is not the bytes' order the resume
 * skip compares by), and `system.*` collections (users, roles: read whole by restore/auth-restore.ts).
 */
export function dumpsInPieces(entry: Pick<CatalogEntry, 'type' | 'coll' | 'options' | 'indexes'>): boolean {
  if (entry.type !== 'collection' || entry.coll.startsWith('system.')) return false;
  if (entry.options.capped === true || entry.options.clusteredIndex !== undefined || entry.options.collation !== undefined) return false;
  const idIndex = entry.indexes.find((index) => index.name === '_id_');
  if (idIndex === undefined || idIndex.collation !== undefined) return false;
  const fields = Object.keys(idIndex.key ?? {});
  return fields.length === 1 && fields[0] === '_id';
}

export interface PieceWork {
  readonly source: Source;
  readonly store: Store;
  /** The base folder this run writes into. */
  readonly folder: string;
  readonly entry: CatalogEntry;
  readonly pieceBytes: number;
  /** What an earlier run stored of this collection, if anything. */
  readonly resumed: PartialCollection | undefined;
  readonly signal?: AbortSignal;
  readonly onDocument?: () => void;
  /** Stores the collection's metadata object (when it starts from its first document). */
  readonly storeMetadata: () => Promise<StoredObject>;
  /** Commits a sealed piece that is not the collection's last (the whole collection so far). */
  readonly commitPiece: (part: PartialCollection) => Promise<void>;
}

/** Dumps a collection piece by piece; returns its entry once every document is stored. */
export async function dumpInPieces(work: PieceWork): Promise<CollectionEntry> {
  const { entry, store, folder } = work;
  // A collection dropped and made again since (another UUID) starts over.
  const resumed = work.resumed !== undefined && work.resumed.uuid === entry.uuid ? work.resumed : undefined;
  const metadata = resumed?.metadata ?? (await work.storeMetadata());
  const pieces: StoredObject[] = [...(resumed?.pieces ?? [])];
  let docs = resumed?.docs ?? 0;
  const after = resumed === undefined ? undefined : decodeBound(resumed.after);
  const documents = dumpCollection(work.source.client, entry.db, entry.coll, work.signal, work.source.deadline, { after });
  try {
    let next = await documents.next();
    for (;;) {
      const key = pieces.length === 0 ? collectionDataKey(folder, entry.db, entry.coll) : collectionPieceKey(folder, entry.db, entry.coll, pieces.length);
      const first = next;
      let last: Buffer | undefined;
      let raw = 0;
      const piece = async function* (): AsyncGenerator<Buffer> {
        let current = first;
        while (!current.done) {
          last = current.value;
          raw += current.value.length;
          docs++;
          work.onDocument?.();
          yield current.value;
          // Read on only while the piece has room: the document after the cut opens the next one.
          if (raw >= work.pieceBytes) break;
          current = await documents.next();
        }
        next = current.done || raw < work.pieceBytes ? current : await documents.next();
      };
      // An empty collection is one empty object, as it always was; a piece is never empty else.
      if (first.done && pieces.length > 0) break;
      pieces.push(await storeGzipped(store, key, piece(), work.signal));
      if (next.done || last === undefined) break;
      await work.commitPiece({ db: entry.db, coll: entry.coll, uuid: entry.uuid, metadata, pieces: [...pieces], docs, after: encodeBound(idOf(last)) });
    }
  } finally {
    await documents.return(undefined);
  }
  const [data, ...moreData] = pieces;
  return { db: entry.db, coll: entry.coll, type: entry.type, docs, data: data ?? null, metadata, ...(moreData.length > 0 ? { moreData } : {}) };
}
