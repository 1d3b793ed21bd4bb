// A chain in a store from lists of oplog entries (documents in the shapes mongod logs them):
// the synthetic base (synthetic-chain.ts), then one chunk per list, each committed with the
// records archive-oplog.ts makes. `openPrepares` is left off the records unless asked for, as
// an archive written before those records existed has it.
import { BSON, type Document } from 'mongodb';
import { addChunk, chainEnd, linkOf, type Chain } from '../../src/archive/manifest.ts';
import { chunkKey, newRunId } from '../../src/archive/object-keys.ts';
import { readOplogHeader, type RawOplogEntry } from '../../src/archive/oplog-header.ts';
import { OpenPrepares, trackingPrepares } from '../../src/archive/open-prepares.ts';
import { ManifestCommitter } from '../../src/backup/commit.ts';
import { writeOplogObject } from '../../src/backup/write-oplog-object.ts';
import type { Store } from '../../src/store/store.ts';
import { tsFromBson } from '../../src/timestamp.ts';
import { syntheticBase } from './synthetic-chain.ts';

async function* entriesOf(docs: readonly Document[]): AsyncGenerator<RawOplogEntry> {
  for (const doc of docs) {
    const raw = Buffer.from(BSON.serialize(doc));
    yield { raw, header: readOplogHeader(raw) };
  }
}

/** Commits the synthetic base and one chunk per list of entries; returns the chain. */
export async function chainOfEntries(store: Store, chunks: readonly Document[][], options: { openPrepares?: boolean } = {}): Promise<Chain> {
  const committer = await ManifestCommitter.open(store);
  let chain: Chain = await syntheticBase(store, committer);
  const prepares = options.openPrepares ? new OpenPrepares() : undefined;
  for (const docs of chunks) {
    const previous = chainEnd(chain);
    const first = docs[0]?.ts;
    const written = await writeOplogObject(store, chunkKey(chain.id, first ? tsFromBson(first) : previous.lastTs, newRunId()), trackingPrepares(entriesOf(docs), prepares), previous.lastTs);
    const chunk = {
      ...written.object, afterTs: previous.lastTs, prevSha256: linkOf(previous), sealedAt: new Date().toISOString(), lagMs: 0,
      commitPoint: 'lastWritten' as const, commitPointTs: written.object.lastTs, commitPointWall: written.object.lastWall, stats: { byNs: written.byNs },
      ...(prepares && { openPrepares: prepares.records() }),
    };
    const manifest = await committer.commit((head) => addChunk(head, chain.id, chunk));
    chain = manifest.chains.find((candidate) => candidate.id === chain.id) ?? chain;
  }
  return chain;
}
