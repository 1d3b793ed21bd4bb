// One document, one lane, on a live server: 1, NumberLong(1) and 1.0 are one `_id` to MongoDB
// (numbers compare by value: src/mongo/bson/bsonelement.cpp; KeyString) and to FerretDB, which
// refuses a second insert of any of them as a duplicate key. An insert, a delete and a re-insert
// of each document, typed differently as different drivers write them, replayed through the
// applier the target selects with 8 lanes: every document must end present, in its last
// version. With lanes hashed by BSON bytes the three writes went to different lanes and raced.
// Decimal128 is left out here: FerretDB 1.24 does not take it (the unit test
// test/unit/restore/replay-lanes.test.ts covers it).
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BSON, Double, Int32, Long, MongoClient, Timestamp, UUID } from 'mongodb';
import type { Document } from 'mongodb';
import type { OplogEntry } from '../../src/oplog-entry.ts';
import { compileNamespaceMapper } from '../../src/restore/namespace-mapper.ts';
import { replay } from '../../src/restore/replay.ts';
import { openTarget, type Target } from '../../src/target/open-target.ts';
import { NO_MONGO, testMongoUri, uniqueName } from '../support/test-env.ts';

describe('replay: mixed numeric _id types stay one document', { skip: NO_MONGO }, () => {
  let dir = '';
  let target: Target;
  let client: MongoClient;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'replay-id-lanes-'));
    target = await openTarget(testMongoUri() ?? '');
    client = target.client;
  });
  after(async () => {
    await client?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('insert Int32 n, delete NumberLong n, re-insert Double n: all 300 documents present in their last version', async () => {
    const db = uniqueName('idlanes');
    const ns = `${db}.docs`;
    await client.db(db).createCollection('docs');
    const ui = new UUID();
    const entries: OplogEntry[] = [];
    let i = 0;
    const at = (op: 'i' | 'd', o: Document): OplogEntry => ({
      op, ns, ui, o, ts: new Timestamp({ t: 1_760_000_000, i: ++i }), t: Long.fromNumber(1), v: 2, wall: new Date(1_760_000_000_000),
    });
    const N = 300;
    for (let n = 0; n < N; n++) {
      entries.push(at('i', { _id: new Int32(n), version: 1 }));
      entries.push(at('d', { _id: Long.fromNumber(n) }));
      entries.push(at('i', { _id: new Double(n), version: 2 }));
    }
    const file = join(dir, 'mixed.bson');
    await writeFile(file, Buffer.concat(entries.map((entry) => BSON.serialize(entry))));
    await replay({ applier: target.applier, files: [file], namespaces: compileNamespaceMapper({}), lanes: 8, batchOps: 5 });
    const docs = await client.db(db).collection('docs').find().toArray();
    const versions = new Map(docs.map((doc) => [Number(doc._id), Number(doc.version)]));
    const wrong = Array.from({ length: N }, (_, n) => n).filter((n) => versions.get(n) !== 2);
    assert.deepEqual(wrong.slice(0, 20), [], `${wrong.length} of ${N} documents lost or in their first version`);
    assert.equal(docs.length, N);
    await client.db(db).dropDatabase();
  });
});
