// Time-series bucket updates replayed over the buckets of a real dump, as the portable applier
// folds them: ../shared/fixtures/mongo-tools/timeseries/ts_dump_with_oplog (mongodump --oplog of
// a time-series collection on MongoDB 5.0: 10 buckets, and 872 `$v:2` updates of
// timeseries_test.system.buckets.foo_ts by bucket _id, each inserting one measurement per
// column and moving control.max). The dump is fuzzy (taken while the writes ran): some of the
// oplog's measurements are already in it, and replay must land on the same buckets anyway.
// What the server computes for each update is document_diff_applier.cpp (delta-v2.ts); the
// result is checked against the invariants of a bucket (mongo src/mongo/db/timeseries/
// bucket_catalog: control.min/max bound every measurement, every column has the same indexes
// "0".."n-1" in order) and one bucket checked by hand against the oplog.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BSON, Int32, ObjectId } from 'mongodb';
import type { Document } from 'mongodb';
import { readBsonFile } from '../../../src/archive/bson-frames.ts';
import { decodeOplogEntry } from '../../../src/archive/bson-decode.ts';
import { decodeOrdered, type OrderedDoc } from '../../../src/ordered-document.ts';
import type { OplogEntry } from '../../../src/oplog-entry.ts';
import { compileNamespaceMapper } from '../../../src/restore/namespace-mapper.ts';
import { emptyApplyStats } from '../../../src/target/applier.ts';
import { foldDocument, planDocuments } from '../../../src/target/fold-batch.ts';
import { idKey } from '../../../src/target/id-key.ts';
import { SHARED_DIR } from '../../support/test-env.ts';

const DUMP = join(SHARED_DIR, 'fixtures/mongo-tools/timeseries/ts_dump_with_oplog');

async function loadBuckets(): Promise<Map<string, OrderedDoc>> {
  const buckets = new Map<string, OrderedDoc>();
  for await (const raw of readBsonFile(join(DUMP, 'timeseries_test/system.buckets.foo_ts.bson'))) {
    const bucket = decodeOrdered(raw);
    buckets.set(idKey(bucket.get('_id')), bucket);
  }
  return buckets;
}

async function loadOplog(): Promise<OplogEntry[]> {
  const entries: OplogEntry[] = [];
  for await (const raw of readBsonFile(join(DUMP, 'oplog.bson'))) entries.push(decodeOplogEntry(raw));
  return entries;
}

/** The oplog folded into the buckets in one batch, as PortableApplier.applyCrud does. */
function replay(buckets: Map<string, OrderedDoc>, entries: readonly OplogEntry[]) {
  const stats = emptyApplyStats();
  const out = new Map(buckets);
  for (const [key, plan] of planDocuments(entries)) {
    const folded = foldDocument(out.get(key) ?? null, plan.entries, stats);
    if (folded !== null) out.set(key, folded);
  }
  return { buckets: out, stats };
}

const sub = (doc: OrderedDoc, ...path: string[]): OrderedDoc =>
  path.reduce((node, name) => node.get(name) as OrderedDoc, doc);
const millis = (value: unknown): number => (value as Date).getTime();
const number = (value: unknown): number => Number((value as Int32).valueOf());
const bytes = (doc: OrderedDoc): string => Buffer.from(BSON.serialize(doc as unknown as Document)).toString('hex');

describe('time-series: the 872 bucket updates of ts_dump_with_oplog over its buckets', () => {
  it('every entry applies, to a bucket of the dump', async () => {
    const entries = await loadOplog();
    assert.equal(entries.length, 872);
    const { stats } = replay(await loadBuckets(), entries);
    assert.deepEqual(stats, { inserted: 0, updated: 872, deleted: 0, missing: 0, commands: 0, transactions: 0 });
  });

  it('the namespace rules keep bucket entries (system.buckets.X is not internal)', async () => {
    const mapper = compileNamespaceMapper({});
    for (const entry of await loadOplog()) assert.deepEqual(mapper.mapEntry(entry), { apply: [entry] });
  });

  it('every bucket stays consistent: columns "0".."n-1" in order, control.min/max bound them', async () => {
    const { buckets } = replay(await loadBuckets(), await loadOplog());
    assert.equal(buckets.size, 10);
    for (const [key, bucket] of buckets) {
      const ts = sub(bucket, 'data', 'ts');
      const columns = ['ts', 'measurement', '_id'].map((name) => sub(bucket, 'data', name));
      for (const column of columns) {
        assert.deepEqual([...column.keys()], [...ts.keys()].map((_, index) => String(index)), `${key}: column indexes`);
      }
      const times = [...ts.values()].map(millis);
      const measurements = [...sub(bucket, 'data', 'measurement').values()].map(number);
      assert.equal(millis(sub(bucket, 'control', 'max').get('ts')), Math.max(...times), `${key}: control.max.ts`);
      assert.ok(millis(sub(bucket, 'control', 'min').get('ts')) <= Math.min(...times), `${key}: control.min.ts`);
      assert.ok(number(sub(bucket, 'control', 'max').get('measurement')) >= Math.max(...measurements), `${key}: control.max.measurement`);
      assert.ok(number(sub(bucket, 'control', 'min').get('measurement')) <= Math.min(...measurements), `${key}: control.min.measurement`);
    }
  });

  it('bucket 60c7df2bf4549c58ea9377ec, checked by hand against the oplog', async () => {
    const before = await loadBuckets();
    const key = idKey(new ObjectId('60c7df2bf4549c58ea9377ec'));
    // The dump already holds measurement 129 (oplog entry 0's insert): a fuzzy dump.
    assert.equal(sub(before.get(key) as OrderedDoc, 'data', 'ts').size, 130);
    const bucket = replay(before, await loadOplog()).buckets.get(key) as OrderedDoc;
    assert.equal(sub(bucket, 'data', 'ts').size, 217);
    // Entry 0: measurement 129 is 292, _id 60c7df3b15caf5ee94e01f7e, replayed over itself.
    assert.deepEqual(sub(bucket, 'data', 'measurement').get('129'), new Int32(292));
    assert.deepEqual(sub(bucket, 'data', '_id').get('129'), new ObjectId('60c7df3b15caf5ee94e01f7e'));
    // Entry 870, its last: measurement 216 is 1162 at 22:59:18.038, and control.max says so.
    assert.deepEqual(sub(bucket, 'data', 'measurement').get('216'), new Int32(1162));
    assert.deepEqual(sub(bucket, 'data', '_id').get('216'), new ObjectId('60c7df4615caf5ee94e022e4'));
    const max = sub(bucket, 'control', 'max');
    assert.deepEqual([...max.keys()], ['_id', 'ts', 'measurement']);
    assert.deepEqual(max.get('_id'), new ObjectId('60c7df4615caf5ee94e022e4'));
    assert.equal((max.get('ts') as Date).toISOString(), '2021-06-14T22:59:18.038Z');
    assert.deepEqual(max.get('measurement'), new Int32(1162));
  });

  it('replaying the oplog again over the result changes no byte (a replay window overlapping the base)', async () => {
    const entries = await loadOplog();
    const once = replay(await loadBuckets(), entries).buckets;
    const twice = replay(once, entries).buckets;
    for (const [key, bucket] of once) assert.equal(bytes(twice.get(key) as OrderedDoc), bytes(bucket), key);
  });
});
