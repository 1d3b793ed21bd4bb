// The export's namespace filter on oplog entries real servers wrote (../shared/fixtures: mongo-tools
// mongorestore/testdata oplogs, vectored inserts in `applyOps` with lsid/txnNumber/multiOpType, and
// pbm's recorded MongoDB 7/8 entries, applyOps of deletes from admin.system.users/roles): an
// entry whose ops the filter all keeps is written as its archived bytes; an applyOps with some
// ops left out keeps the others byte for byte, in order; one left with none is dropped unless
// it is linked to others (prevOpTime).
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BSON, type Document } from 'mongodb';
import { selectNamespaces } from '../../../src/interop/export-namespaces.ts';
import { decodeOrdered } from '../../../src/ordered-document.ts';
import { SHARED_DIR } from '../../support/test-env.ts';

const FIXTURES = join(SHARED_DIR, 'fixtures');

function rawEntries(): { label: string; raw: Buffer }[] {
  const out: { label: string; raw: Buffer }[] = [];
  const bsonDir = join(FIXTURES, 'mongo-tools', 'oplogs', 'bson');
  for (const name of readdirSync(bsonDir)) {
    const bytes = readFileSync(join(bsonDir, name));
    for (let at = 0; at < bytes.length; at += bytes.readInt32LE(at)) out.push({ label: name, raw: bytes.subarray(at, at + bytes.readInt32LE(at)) });
  }
  const pbmDir = join(FIXTURES, 'pbm');
  for (const name of readdirSync(pbmDir).filter((file) => file.endsWith('.json'))) {
    const docs = BSON.EJSON.parse(readFileSync(join(pbmDir, name), 'utf8'), { relaxed: false }) as Document[];
    for (const doc of docs) out.push({ label: name, raw: Buffer.from(BSON.serialize(doc)) });
  }
  return out;
}

/** The raw bytes of each op of an applyOps entry, in order. */
function opBytes(raw: Buffer): string[] {
  const o = decodeOrdered(raw).get('o');
  const ops = o instanceof Map ? o.get('applyOps') : undefined;
  return Array.isArray(ops) ? ops.map((op) => Buffer.from(BSON.serialize(op)).toString('hex')) : [];
}

describe('export filter on real oplog entries', () => {
  const entries = rawEntries();

  it('writes every entry the filter keeps whole as its archived bytes', () => {
    const selection = selectNamespaces({ exclude: ['nothing.matches'] });
    assert.ok(selection);
    let whole = 0;
    for (const { label, raw } of entries) {
      const doc = BSON.deserialize(raw);
      const internal = doc.o?.applyOps?.some((op: Document) => String(op.ns).startsWith('admin.system.'));
      if (internal) continue;
      const written = selection.entries(raw);
      if (written.length === 1 && written[0]?.equals(raw)) whole++;
      else if (doc.o?.applyOps) assert.fail(`${label}: an applyOps whose ops are all kept was rewritten`);
    }
    assert.ok(whole > 0);
  });

  it('keeps the included ops of an applyOps byte for byte, and drops one left empty', () => {
    let checked = 0;
    for (const { label, raw } of entries) {
      const doc = BSON.deserialize(raw);
      if (!Array.isArray(doc.o?.applyOps) || doc.o.applyOps.length < 1) continue;
      // Leave out the namespace of the first op: what stays is every op of another namespace.
      const excluded = String(doc.o.applyOps[0].ns);
      const selection = selectNamespaces({ exclude: [excluded.replace(/\$/g, '')] });
      assert.ok(selection);
      const written = selection.entries(raw);
      const expected = opBytes(raw).filter((_, index) => doc.o.applyOps[index].ns !== excluded && !String(doc.o.applyOps[index].ns).startsWith('admin.system.'));
      const linked = doc.prevOpTime && !(doc.prevOpTime.ts.high === 0 && doc.prevOpTime.ts.low === 0);
      checked++;
      if (expected.length === 0 && !linked) {
        assert.deepEqual(written, [], `${label}: an applyOps left with no op is dropped`);
        continue;
      }
      assert.equal(written.length, 1, label);
      assert.deepEqual(opBytes(written[0] ?? Buffer.alloc(0)), expected, `${label}: the kept ops are the archived bytes`);
    }
    assert.ok(checked >= 5, `${checked} applyOps entries checked`);
  });
});
