// What a base stored in this process, for `mongo_pitr_bytes_written_total`: a collection dumped
// in pieces (backup/dump-pieces.ts) is committed piece by piece, and some of its pieces (and its
// metadata) may have been stored by an earlier run that the pending base resumes. Each object is
// counted once, when this process commits it: a sealed piece as it is committed (with the
// metadata, stored just before the first piece), and the collection's last piece when the
// collection is whole.
import { dataObjectsOf, type CollectionEntry, type PartialCollection } from '../archive/manifest.ts';

/** A sealed piece that is not the collection's last, just committed: the newest of `part.pieces`. */
export function storedByPiece(part: PartialCollection): number {
  const newest = part.pieces.at(-1)?.storedBytes ?? 0;
  return part.pieces.length === 1 ? newest + part.metadata.storedBytes : newest;
}

/** A collection just made whole: its last data object, and its metadata when it is one piece. */
export function storedByCollection(entry: CollectionEntry): number {
  const objects = dataObjectsOf(entry);
  const last = objects.at(-1)?.storedBytes ?? 0;
  return objects.length > 1 ? last : last + entry.metadata.storedBytes;
}
