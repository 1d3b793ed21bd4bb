// A collection larger than one run (a Lambda invocation) still gets into a base: it is dumped
// in pieces (src/backup/dump-pieces.ts), each committed to the pending base as it is sealed, and
// each run resumes after the last sealed piece's last _id. Here every run is stopped by its
// signal after reading a few pieces' worth of documents; before pieces existed each run
// restarted the collection from its first document and the base never completed.
// Between runs the collection changes on both sides of the resume point: inserts before and
// after it, documents updated (grown) at and after it, deleted before and after it, one deleted
// and inserted again behind it. The _ids are of several BSON types (numbers, strings,
// ObjectIds), so a resume point that type-brackets would lose documents. The finished base then
// holds every document once (no _id twice across pieces), its counts add up, verify reads every
// piece, export writes one .bson per collection, and a restore equals the source.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { BSON, type Document, type Filter, type MongoClient } from 'mongodb';
import { dataObjectsOf, pendingBaseOf, type CollectionEntry, type PartialCollection } from '../../src/archive/manifest.ts';
import { readBsonFile } from '../../src/archive/bson-frames.ts';
import { ManifestCommitter, readManifest } from '../../src/backup/commit.ts';
import { takeBase } from '../../src/backup/take-base.ts';
import { verifyStore } from '../../src/backup/verify-store.ts';
import { exportDump } from '../../src/interop/export-dump.ts';
import { compareBsonValues as compareBson } from '../../src/bson-order.ts';
import { connectSource } from '../../src/source/connect-source.ts';
import { decodeBound } from '../../src/source/resume-bound.ts';
import { readObjectDocuments } from '../support/chain-reader.ts';
import { useDedicatedMongo } from '../support/dedicated-mongo.ts';
import { assertRestoresBeside } from '../support/restore-beside.ts';
import { STORE_KINDS } from '../support/stores.ts';
import { NO_MONGO, uniqueName } from '../support/test-env.ts';

/** Raw bytes per piece: about ten of the documents below. */
const PIECE_BYTES = 4096;
/** Documents one run reads before its signal stops it: two pieces and part of a third. */
const DOCS_PER_RUN = 25;
const MAX_RUNS = 60;

/** Documents with _ids of any type. */
type AnyDocument = { _id: unknown; [field: string]: unknown };
const byId = (id: unknown): Filter<AnyDocument> => ({ _id: id }) as Filter<AnyDocument>;

const payload = (bytes = 300): string => randomBytes(bytes).toString('base64');

/** Numbers, then strings, then ObjectIds: three canonical types, in the _id index's order. */
function bigDocuments(): AnyDocument[] {
  const numbers = Array.from({ length: 80 }, (_, n) => ({ _id: n, payload: payload() }));
  const strings = Array.from({ length: 80 }, (_, n) => ({ _id: `s${String(n).padStart(3, '0')}`, payload: payload() }));
  const objectIds = Array.from({ length: 60 }, () => ({ _id: new BSON.ObjectId(), payload: payload() }));
  return [...numbers, ...strings, ...objectIds];
}

/** The collection's _ids in BSON order, each with the side of `bound` it is on. */
async function idsAround(client: MongoClient, db: string, bound: unknown): Promise<{ before: unknown[]; after: unknown[] }> {
  const ids = (await client.db(db).collection('big').find({}, { projection: { _id: 1 } }).toArray()).map((doc) => doc._id as unknown).sort(compareBson);
  return { before: ids.filter((id) => compareBson(id, bound) <= 0), after: ids.filter((id) => compareBson(id, bound) > 0) };
}

/** Writes on both sides of the resume point, as a live source does between runs. */
async function writeAround(client: MongoClient, db: string, part: PartialCollection, round: number): Promise<void> {
  const big = client.db(db).collection<AnyDocument>('big');
  const bound = decodeBound(part.after);
  const { before, after } = await idsAround(client, db, bound);
  await big.insertOne({ _id: -round, payload: payload() }); // behind the resume point
  await big.insertOne({ _id: new BSON.ObjectId(), payload: payload() }); // ahead of it
  // Grown, at the resume point (stored already) and just after it (not yet).
  await big.updateOne(byId(bound), { $set: { grown: payload(900), round } });
  if (after[0] !== undefined) await big.updateOne(byId(after[0]), { $set: { grown: payload(900), round } });
  if (after[1] !== undefined) await big.deleteOne(byId(after[1]));
  const [first, second] = before;
  if (first !== undefined && compareBson(first, bound) !== 0) await big.deleteOne(byId(first));
  if (second !== undefined && compareBson(second, bound) !== 0) {
    await big.deleteOne(byId(second));
    await big.insertOne({ _id: second, payload: payload(), again: round });
  }
}

/** Every document of a collection's pieces, read back from the store, in order. */
async function piecesDocuments(store: Parameters<typeof readObjectDocuments>[0], entry: CollectionEntry): Promise<Document[]> {
  const documents: Document[] = [];
  for (const object of dataObjectsOf(entry)) documents.push(...(await readObjectDocuments(store, object.key)));
  return documents;
}

function assertNoIdTwice(documents: readonly Document[], what: string): void {
  const ids = documents.map((doc) => Buffer.from(BSON.serialize({ _id: doc._id })).toString('hex'));
  assert.equal(new Set(ids).size, ids.length, `${what}: no _id twice`);
}

for (const kind of STORE_KINDS) {
  describe(`a collection dumped in pieces over signal-stopped runs, ${kind.name} store`, { skip: NO_MONGO || kind.skip }, () => {
    const server = useDedicatedMongo();

    test('each run keeps the sealed pieces and resumes after them; the base completes and restores exactly', async (t) => {
      const [mongo, client] = [server.mongo(), server.client()];
      const { store } = await kind.open();
      const source = await connectSource(mongo.uri);
      const db = uniqueName('pieces');
      const dir = await mkdtemp(join(tmpdir(), 'mongo-pitr-pieces-'));
      try {
        await client.db(db).collection<AnyDocument>('big').insertMany(bigDocuments());
        await client.db(db).collection<AnyDocument>('small').insertMany(Array.from({ length: 5 }, (_, n) => ({ _id: n })));
        const committer = await ManifestCommitter.open(store);

        let keys: string[] = [];
        let runs = 0;
        for (; ; runs++) {
          assert.ok(runs < MAX_RUNS, `the base completes within ${MAX_RUNS} runs (each run reads ${DOCS_PER_RUN} documents before its deadline)`);
          const controller = new AbortController();
          let read = 0;
          const result = await takeBase({
            source, store, committer, concurrency: 1, pieceBytes: PIECE_BYTES, signal: controller.signal,
            onDocument: () => {
              if (++read >= DOCS_PER_RUN) controller.abort();
            },
          });
          if (!result.stoppedEarly) break;
          const pending = pendingBaseOf(committer.manifest, source.identity);
          const part = pending?.partial?.find((each) => each.db === db && each.coll === 'big');
          if (part === undefined) continue; // the run stopped before big's first piece or after it finished
          const now = part.pieces.map((piece) => piece.key);
          assert.deepEqual(now.slice(0, keys.length), keys, 'the pieces sealed before are kept, never dumped again');
          assert.ok(now.length >= keys.length + 2, `run ${runs + 1} sealed two more pieces (${keys.length} -> ${now.length})`);
          const stored = (await Promise.all(part.pieces.map((piece) => readObjectDocuments(store, piece.key)))).flat();
          assert.equal(part.docs, stored.length, 'the partial count is what its pieces hold');
          assert.equal(compareBson(decodeBound(part.after), stored.at(-1)?._id), 0, 'the resume point is the last stored _id');
          keys = now;
          await writeAround(client, db, part, runs + 1);
        }
        t.diagnostic(`completed in ${runs + 1} runs, ${keys.length}+ pieces`);
        assert.ok(runs >= 5, 'the collection took several runs');

        const { manifest } = await readManifest(store);
        assert.equal(manifest.pendingBases, undefined);
        const chain = manifest.chains.at(-1);
        assert.ok(chain);
        const big = chain.base.collections.find((entry) => entry.db === db && entry.coll === 'big');
        assert.ok(big?.data && big.moreData, 'big is recorded as one collection of several pieces');
        assert.deepEqual(dataObjectsOf(big).slice(0, keys.length).map((object) => object.key), keys);
        assert.ok(new Set(dataObjectsOf(big).map((object) => object.key.split('/')[1])).size >= 5, 'pieces from several runs');
        const documents = await piecesDocuments(store, big);
        assert.equal(big.docs, documents.length, 'the collection count adds up its pieces');
        assertNoIdTwice(documents, 'the base');
        const small = chain.base.collections.find((entry) => entry.db === db && entry.coll === 'small');
        assert.equal(small?.moreData, undefined, 'a collection dumped in one piece is recorded as before');
        assert.equal(small?.data?.key, `bases/${small?.metadata.key.split('/')[1]}/${db}/small.bson.gz`);

        const verified = await verifyStore(store);
        assert.ok(verified.objects >= dataObjectsOf(big).length + 2);

        const exported = await exportDump({ store, dir: join(dir, 'dump'), namespaces: { include: [`${db}.*`] } });
        const inFile: Document[] = [];
        for await (const raw of readBsonFile(join(dir, 'dump', db, 'big.bson'))) inFile.push(BSON.deserialize(raw));
        assert.equal(inFile.length, big.docs, 'export writes every piece into one .bson file');
        assertNoIdTwice(inFile, 'the export');
        assert.ok(exported.documents >= big.docs);

        await assertRestoresBeside({ store, uri: mongo.uri, client, db, collections: 2 });
      } finally {
        await source.client.close();
        await store.close();
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
}
