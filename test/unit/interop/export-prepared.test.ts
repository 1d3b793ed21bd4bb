// An export at a cutoff with prepared transactions: oplog.bson holds the commitTransaction of
// every transaction prepared before the cutoff and committed at a commitTimestamp before it,
// although that entry is logged after the cutoff (restore/prepared-cutoff.ts), so mongorestore
// (mongo-tools common/txn/meta.go: a `prepare` applyOps waits for its `commitTransaction`)
// applies exactly the transactions the cutoff includes. Entry shapes: db/op_observer/
// op_observer_impl.cpp (prepare applyOps, commitTransaction {commitTimestamp}). Runs on a folder
// store: no server involved.
import { instantText } from '../../../src/words.ts';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BSON, Binary, Long, Timestamp, UUID, type Document } from 'mongodb';
import { UsageError } from '../../../src/errors.ts';
import { exportDump } from '../../../src/interop/export-dump.ts';
import { FolderStore } from '../../../src/store/folder-store.ts';
import type { Store } from '../../../src/store/store.ts';
import { chainOfEntries } from '../../support/entry-chain.ts';
import { START_T, SYNTHETIC_NS } from '../../support/synthetic-chain.ts';

const T = START_T + 1;
const ts = (i: number) => new Timestamp({ t: T, i });
const SESSION = { id: new UUID('0f1e2d3c-4b5a-4697-8876-655443322110'), uid: new Binary(Buffer.alloc(32, 7)) };
const UI = new UUID('0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9');
const common = (i: number) => ({ ts: ts(i), t: Long.fromNumber(1), v: 2, wall: new Date(T * 1000 + i) });
const insert = (i: number, id: number): Document => ({ ...common(i), op: 'i', ns: SYNTHETIC_NS, ui: UI, o: { _id: id } });
const prepare = (i: number, id: number): Document => ({
  ...common(i), op: 'c', ns: 'admin.$cmd', lsid: SESSION, txnNumber: Long.fromNumber(5),
  prevOpTime: { ts: new Timestamp({ t: 0, i: 0 }), t: Long.fromNumber(-1) },
  o: { applyOps: [{ op: 'i', ns: SYNTHETIC_NS, ui: UI, o: { _id: id } }], prepare: true },
});
const commit = (i: number, commitI: number, prepareI: number): Document => ({
  ...common(i), op: 'c', ns: 'admin.$cmd', lsid: SESSION, txnNumber: Long.fromNumber(5),
  prevOpTime: { ts: ts(prepareI), t: Long.fromNumber(1) }, o: { commitTransaction: 1, commitTimestamp: ts(commitI) },
});

let dir = '';
before(async () => void (dir = await mkdtemp(join(tmpdir(), 'export-prepared-'))));
after(async () => rm(dir, { recursive: true, force: true }));

/** A chain: the synthetic base, then one chunk per list of entries (entry-chain.ts). */
async function storeWith(name: string, chunks: Document[][]): Promise<Store> {
  const store = new FolderStore(join(dir, name));
  await chainOfEntries(store, chunks);
  return store;
}

async function exported(store: Store, name: string, cutoffI: number): Promise<string[]> {
  const out = join(dir, `out-${name}`);
  await exportDump({ store, dir: out, cutoff: { ts: { t: T, i: cutoffI }, input: `${T}:${cutoffI}` } });
  const bytes = await readFile(join(out, 'oplog.bson'));
  const entries: string[] = [];
  for (let offset = 0; offset < bytes.length; offset += bytes.readInt32LE(offset)) {
    const doc = BSON.deserialize(bytes.subarray(offset, offset + bytes.readInt32LE(offset)));
    // The base's own op (second START_T) is not part of the story.
    if (doc.ts.high === T) entries.push(`${doc.o.commitTransaction ? 'commit' : doc.o.applyOps ? 'prepare' : doc.op}@${doc.ts.low}`);
  }
  return entries;
}

describe('export at a cutoff with a prepared transaction', () => {
  it('writes the commit (logged past the cutoff, in a later chunk) when commitTimestamp < cutoff', async () => {
    const store = await storeWith('applies', [[insert(2, 1), prepare(3, 100), insert(6, 2)], [insert(12, 3), commit(14, 5, 3), insert(15, 4)]]);
    assert.deepEqual(await exported(store, 'applies', 10), ['i@2', 'prepare@3', 'i@6', 'commit@14']);
  });

  it('leaves it out when commitTimestamp >= cutoff', async () => {
    const store = await storeWith('later', [[insert(2, 1), prepare(3, 100), insert(6, 2)], [insert(12, 3), commit(14, 11, 3)]]);
    assert.deepEqual(await exported(store, 'later', 10), ['i@2', 'prepare@3', 'i@6']);
  });

  it('refuses a cutoff past a prepare whose decision is not archived', async () => {
    const store = await storeWith('undecided', [[insert(2, 1), prepare(3, 100), insert(6, 2)], [insert(12, 3)]]);
    await assert.rejects(exported(store, 'undecided', 10), (error: unknown) =>
      // 1700000001 is 2023-11-14T22:13:21Z: the prepare's time first, its position beside it.
      error instanceof UsageError && error.message.includes(`prepared at ${instantText(1700000001_000, {})} [1700000001:3] whose`) &&
      (error.hint ?? '').includes('(--until 1700000001:3, or 2023-11-14T22:13:21.000Z)'));
  });
});
