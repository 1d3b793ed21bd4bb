// export --nsInclude/--nsExclude: mongorestore refuses --oplogReplay with namespace filters
// (mongo-tools mongorestore/mongorestore.go, ParseAndValidateOptions), so the exported folder
// must already hold only the selection: its collections and its oplog entries, transactions
// included. The chain is a mongodump folder imported into a folder store: no server needed.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { BSON, Timestamp, type Document } from 'mongodb';
import { runCli } from '../support/cli.ts';

const T = 1_900_000_000;
const LSID = { id: new BSON.UUID('8d3b3b8e-4f5e-4c3a-9b1e-0d6f5c1a2b3c'), uid: new BSON.Binary(Buffer.alloc(32)) };

function entries(): Document[] {
  const at = (n: number) => ({ ts: new Timestamp({ t: T, i: n }), t: 1, v: 2, wall: new Date(T * 1000 + n) });
  return [
    { ...at(1), op: 'i', ns: 'shop.orders', o: { _id: 1 } },
    { ...at(2), op: 'i', ns: 'shop.audit', o: { _id: 1 } },
    // A committed transaction as mongod logs it (applyOps, with lsid and txnNumber;
    // src/mongo/db/repl/oplog_entry.idl): one write kept, one left out.
    { ...at(3), op: 'c', ns: 'admin.$cmd', lsid: LSID, txnNumber: 1, prevOpTime: { ts: new Timestamp({ t: 0, i: 0 }), t: -1 },
      o: { applyOps: [{ op: 'i', ns: 'shop.orders', o: { _id: 2 } }, { op: 'i', ns: 'shop.audit', o: { _id: 2 } }] } },
    { ...at(4), op: 'u', ns: 'shop.audit', o: { $v: 2, diff: { u: { n: 1 } } }, o2: { _id: 1 } },
  ];
}

async function dump(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mongo-pitr-export-filter-'));
  await mkdir(join(dir, 'shop'));
  for (const coll of ['orders', 'audit']) {
    await writeFile(join(dir, 'shop', `${coll}.bson`), BSON.serialize({ _id: 0 }));
    await writeFile(join(dir, 'shop', `${coll}.metadata.json`), JSON.stringify({ options: {}, indexes: [{ v: 2, key: { _id: 1 }, name: '_id_' }] }));
  }
  await writeFile(join(dir, 'oplog.bson'), Buffer.concat(entries().map((entry) => BSON.serialize(entry))));
  return dir;
}

function readEntries(bytes: Buffer): Document[] {
  const out: Document[] = [];
  for (let at = 0; at < bytes.length; at += bytes.readInt32LE(at)) out.push(BSON.deserialize(bytes.subarray(at, at + bytes.readInt32LE(at))));
  return out;
}

describe('export --nsInclude / --nsExclude', () => {
  for (const filter of [['--nsInclude', 'shop.orders'], ['--nsExclude', 'shop.audit']]) {
    test(`${filter.join(' ')} exports only shop.orders, in the collections and the oplog`, async () => {
      const store = await mkdtemp(join(tmpdir(), 'mongo-pitr-export-filter-store-'));
      const imported = await runCli(['import', await dump(), '--store', store, '--set-name', 'rsExport']);
      assert.equal(imported.code, 0, imported.stderr);
      const out = join(await mkdtemp(join(tmpdir(), 'mongo-pitr-export-filter-out-')), 'dump');
      const exported = await runCli(['export', out, '--store', store, ...filter]);
      assert.equal(exported.code, 0, exported.stderr);
      assert.deepEqual((await readdir(join(out, 'shop'))).sort(), ['orders.bson', 'orders.metadata.json']);
      const oplog = readEntries(await readFile(join(out, 'oplog.bson')));
      assert.deepEqual(oplog.map((entry) => [entry.op, entry.ns]), [['i', 'shop.orders'], ['c', 'admin.$cmd']]);
      const txn = oplog[1];
      assert.deepEqual(txn?.o.applyOps.map((op: Document) => op.ns), ['shop.orders'], 'the transaction keeps only the selected write');
      assert.equal(txn?.txnNumber, 1, 'and the fields mongorestore follows its transaction by');
      assert.match(exported.stdout, /1 collection\b/);
    });
  }
});
