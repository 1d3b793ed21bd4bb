import { BSON, ObjectId } from 'mongodb';
import { decodeOrdered } from '../src/ordered-document.ts';
const docs: Uint8Array[] = [];
for (let i = 0; i < 5000; i++) docs.push(BSON.serialize({ _id: `c0-${i}`, n: i, big: BigInt(i) }, {}));
const EXACT = { promoteValues: false, promoteLongs: false, promoteBuffers: false, bsonRegExp: true } as const;
let a = Infinity, b = Infinity;
for (let round = 0; round < 30; round++) {
  let t = performance.now(); for (const d of docs) BSON.deserialize(d, EXACT); a = Math.min(a, performance.now() - t);
  t = performance.now(); for (const d of docs) decodeOrdered(d); b = Math.min(b, performance.now() - t);
}
console.log(`per 1000 docs: js-bson ${(a / 5).toFixed(2)}ms ordered ${(b / 5).toFixed(2)}ms`);
