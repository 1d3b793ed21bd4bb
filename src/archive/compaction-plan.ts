// Compaction planning, pure: which runs of sealed chunk records merge into one object. Levels
// follow time: level 1 holds the chunks of one minute (by the ops' ts), level 2 the level-1
// objects of one hour, level 3 those of one day (UTC days of the ts seconds). A span is merged only once it is closed (a later record lies in a later
// span) so a compacted object never has to grow again, and the chain's last record is never
// merged (the next chunk links to it). Every entry stays in the merged object, so a restore
// cutoff inside it still works (replay stops at the cutoff), and the index then lists the fewest
// objects that cover any window exactly: one per closed day, per closed hour of the open day,
// per closed minute of the open hour, and the chunks of the open minute (plus the records not
// yet sealed). At 1 s chunks a day of 86,400 chunks becomes one object.
import { linkOf, type Chunk, type ChunkStats } from './manifest.ts';

export const COMPACTION_LEVELS = [
  { level: 1, spanSeconds: 60 },
  { level: 2, spanSeconds: 60 * 60 },
  { level: 3, spanSeconds: 24 * 60 * 60 },
] as const;

export interface CompactionGroup {
  /** Index of the first record merged, in the records given. */
  readonly start: number;
  /** Index just past the last record merged. */
  readonly end: number;
  readonly level: number;
}

/** The groups to merge next: the lowest level that has any, in ts order. */
export function planCompaction(records: readonly Chunk[]): CompactionGroup[] {
  for (const { level, spanSeconds } of COMPACTION_LEVELS) {
    const groups = groupsAt(records, level, spanSeconds);
    if (groups.length > 0) return groups;
  }
  return [];
}

function groupsAt(records: readonly Chunk[], level: number, spanSeconds: number): CompactionGroup[] {
  const groups: CompactionGroup[] = [];
  let start = 0;
  while (start < records.length) {
    const first = records[start];
    if (!first) break;
    const span = Math.floor(first.firstTs.t / spanSeconds);
    let end = start;
    while (end < records.length) {
      const record = records[end];
      // Records below the level merge into it (an hour of single-chunk minutes goes straight to level 2).
      if (!record || (record.level ?? 0) >= level || Math.floor(record.firstTs.t / spanSeconds) !== span || Math.floor(record.lastTs.t / spanSeconds) !== span) break;
      end++;
    }
    // Closed: a record after the run starts in a later span (so none will join it later).
    const next = records[end];
    const closed = next !== undefined && Math.floor(next.firstTs.t / spanSeconds) > span;
    if (end - start >= 2 && closed) groups.push({ start, end, level });
    start = Math.max(end, start + 1);
  }
  return groups;
}

/** The record of a merged object: its own key, size and hash, the span and links of its pieces. */
export function mergedRecord(pieces: readonly Chunk[], stored: { key: string; rawBytes: number; storedBytes: number; sha256: string }, level: number, compactedAt: string): Chunk {
  const first = pieces[0];
  const last = pieces.at(-1);
  if (!first || !last) throw new RangeError('mergedRecord needs at least one piece');
  return {
    ...stored,
    firstTs: first.firstTs,
    lastTs: last.lastTs,
    firstWall: first.firstWall,
    lastWall: last.lastWall,
    count: pieces.reduce((sum, piece) => sum + piece.count, 0),
    afterTs: first.afterTs,
    prevSha256: first.prevSha256,
    sealedAt: last.sealedAt,
    lagMs: last.lagMs,
    commitPoint: last.commitPoint,
    commitPointTs: last.commitPointTs ?? last.lastTs,
    commitPointWall: last.commitPointWall ?? last.lastWall,
    stats: mergeStats(pieces.map((piece) => piece.stats)),
    level,
    pieces: pieces.reduce((sum, piece) => sum + (piece.pieces ?? 1), 0),
    compactedAt,
    endSha256: linkOf(last),
    // The set open at the merged object's end is its last piece's (absent there: unknown).
    ...(last.openPrepares && { openPrepares: last.openPrepares }),
  };
}

function mergeStats(all: readonly ChunkStats[]): ChunkStats {
  const byNs: Record<string, Record<string, number>> = {};
  for (const stats of all) {
    // Optional: a record may keep its stats elsewhere (inside an encrypted object).
    for (const [ns, ops] of Object.entries((stats as ChunkStats | undefined)?.byNs ?? {})) {
      const into = (byNs[ns] ??= {});
      for (const [op, count] of Object.entries(ops)) into[op] = (into[op] ?? 0) + count;
    }
  }
  return { byNs };
}
