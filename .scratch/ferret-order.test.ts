import { it } from 'node:test';
import { BSON, MongoClient, Int32 } from 'mongodb';
import type { Document } from 'mongodb';
import { testMongoUri } from '../test/support/test-env.ts';
it('order', async () => {
  const client = new MongoClient(testMongoUri() ?? ''); await client.connect();
  const c = client.db('scratch_order').collection('x');
  await c.drop().catch(() => 0);
  const d = new Map<string, unknown>([['_id', new Int32(1)], ['data', new Map<string, unknown>([['ts', 1], ['_id', 2]])]]);
  await c.insertOne(d as unknown as Document, { forceServerObjectId: true });
  await c.updateOne({ _id: 1 as never }, { $set: { q: 1 } });
  const [raw] = await c.find({}, { raw: true }).toArray();
  console.log(JSON.stringify(BSON.deserialize(raw as unknown as Uint8Array)));
  const d2 = new Map<string, unknown>([['_id', new Int32(2)], ['data', new Map<string, unknown>([['ts', 1], ['_id', 2]])]]);
  await c.replaceOne({ _id: 2 as never }, d2 as unknown as Document, { upsert: true });
  await c.replaceOne({ _id: 2 as never }, d2 as unknown as Document, { upsert: true });
  for (const r of await c.find({}, { raw: true }).toArray()) console.log(Buffer.from(r as unknown as Uint8Array).toString('hex'));
  await client.close();
});
