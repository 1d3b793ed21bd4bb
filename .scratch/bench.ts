import { BSON, ObjectId } from 'mongodb';
import { decodeOrdered } from '../src/ordered-document.ts';
const docs: Uint8Array[] = [];
for (let i = 0; i < 20000; i++) docs.push(BSON.serialize({ _id: new ObjectId(), name: `user ${i}`, email: `u${i}@example.com`, n: i, f: i / 3, tags: ['a', 'b', 'c'], addr: { street: 'Main St', city: 'X', zip: '12345' }, at: new Date(), active: true }));
const EXACT = { promoteValues: false, promoteLongs: false, promoteBuffers: false, bsonRegExp: true } as const;
for (let round = 0; round < 3; round++) {
  let t = performance.now(); for (const d of docs) BSON.deserialize(d, EXACT); const a = performance.now() - t;
  t = performance.now(); for (const d of docs) decodeOrdered(d); const b = performance.now() - t;
  t = performance.now(); for (const d of docs) BSON.serialize(decodeOrdered(d) as never); const c = performance.now() - t;
  t = performance.now(); for (const d of docs) BSON.serialize(BSON.deserialize(d, EXACT)); const e = performance.now() - t;
  console.log(`js-bson ${a.toFixed(0)}ms ordered ${b.toFixed(0)}ms | roundtrip ordered ${c.toFixed(0)}ms js-bson ${e.toFixed(0)}ms`);
}
