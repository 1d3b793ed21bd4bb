import { readBsonFile } from '../src/archive/bson-frames.ts';
import { decodeOplogEntry } from '../src/archive/bson-decode.ts';
import { decodeOrdered, toPlain, type OrderedDoc } from '../src/ordered-document.ts';
import { foldDocument } from '../src/target/fold-batch.ts';
import { emptyApplyStats } from '../src/target/applier.ts';
import { idKey } from '../src/target/id-key.ts';
const dir = '/work/shared/fixtures/mongo-tools/timeseries/ts_dump_with_oplog/';
const buckets = new Map<string, OrderedDoc>();
for await (const raw of readBsonFile(dir + 'timeseries_test/system.buckets.foo_ts.bson')) { const d = decodeOrdered(raw); buckets.set(idKey(d.get('_id')), d); }
const stats = emptyApplyStats();
let first: string[] = [];
const sizeBefore = new Map([...buckets].map(([k, d]) => [k, ((d.get('data') as OrderedDoc).get('ts') as OrderedDoc).size]));
let i = 0;
for await (const raw of readBsonFile(dir + 'oplog.bson')) {
  const e = decodeOplogEntry(raw);
  const k = idKey(e.o2?._id);
  if (!buckets.has(k)) { console.log('missing bucket', k); continue; }
  const ins = [...((e.o.diff.sdata.sts?.i) ? Object.keys(e.o.diff.sdata.sts.i) : [])];
  if (i < 3 || i > 868) console.log(i, k, ins, sizeBefore.get(k));
  buckets.set(k, foldDocument(buckets.get(k)!, [e], stats)!);
  i++;
}
console.log(stats);
for (const [k, d] of buckets) {
  const data = d.get('data') as OrderedDoc; const ts = data.get('ts') as OrderedDoc;
  const ctrl = toPlain(d.get('control')) as any;
  const times = [...ts.values()].map((v) => (v as Date).getTime());
  console.log(k, sizeBefore.get(k), ts.size, [...ts.keys()].every((key, j) => key === String(j)), ctrl.max.ts.getTime() === Math.max(...times), ctrl.min.ts.getTime() <= Math.min(...times), [...data.keys()]);
}
