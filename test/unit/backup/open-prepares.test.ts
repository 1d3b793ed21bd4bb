// The prepares a shard leaves undecided, recorded by backup on every oplog object (the base's
// oplog and each chunk), carried from chunk to chunk and through segment seals, so that the
// manifest alone says which cutoffs are decidable, and a restore refuses one before it writes.
// A scripted member (test/support/fake-member.ts) stands in for a shard: FerretDB logs no
// commands. Entry shapes as a shard writes them: db/op_observer/op_observer_impl.cpp
// (onTransactionPrepare: `applyOps` with `prepare: true`, lsid, txnNumber, prevOpTime;
// onPreparedTransactionCommit: `{commitTransaction: 1, commitTimestamp}`; onTransactionAbort:
// `{abortTransaction: 1}`), db/transaction/transaction_participant.cpp (prepareTimestamp <=
// commitTimestamp <= the commit entry's ts), db/repl/oplog_entry.h.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Binary, Long, Timestamp, UUID, type Document } from 'mongodb';
import { archiveOplog } from '../../../src/backup/archive-oplog.ts';
import { streamOplog } from '../../../src/backup/stream-oplog.ts';
import { ManifestCommitter } from '../../../src/backup/commit.ts';
import { takeBase } from '../../../src/backup/take-base.ts';
import { formatWindow, planRestore, windowOf } from '../../../src/archive/chain-window.ts';
import { windowWords } from '../../../src/archive/window-words.ts';
import { instantText } from '../../../src/words.ts';
import { parseIndexObject, sealAll, SEGMENT_KIND, type SegmentBody } from '../../../src/archive/index-segment.ts';
import type { Chain, Manifest } from '../../../src/archive/manifest.ts';
import { earliestUndecidedPrepare } from '../../../src/archive/open-prepares.ts';
import { summarizeSources } from '../../../src/archive/source-summary.ts';
import { UsageError } from '../../../src/errors.ts';
import { openStore } from '../../../src/store/open-store.ts';
import type { Store } from '../../../src/store/store.ts';
import { parseCutoff, type Ts } from '../../../src/timestamp.ts';
import { fakeSource, oplogEntry, settledMember } from '../../support/fake-member.ts';

const S = 1_764_583_200;
const at = (second: number, i = 1): Ts => ({ t: S + second, i });
const bson = (ts: Ts): Timestamp => new Timestamp({ t: ts.t, i: ts.i });
const UI = new UUID('11111111-2222-4333-8444-555555555555').toBinary();
const session = (n: number): Document => ({ id: new UUID(`0f1e2d3c-4b5a-4697-8876-65544332211${n}`).toBinary(), uid: new Binary(Buffer.alloc(32, 7)) });

function insert(ts: Ts, _id: number): Document {
  return oplogEntry(ts, 1, { op: 'i', ns: 'shop.orders', ui: UI, o: { _id }, o2: { _id } });
}

function prepare(ts: Ts, txn: number): Document {
  return oplogEntry(ts, 1, {
    op: 'c', ns: 'admin.$cmd', lsid: session(txn), txnNumber: Long.fromNumber(3), stmtId: [0],
    prevOpTime: { ts: new Timestamp({ t: 0, i: 0 }), t: Long.fromNumber(-1) },
    o: { applyOps: [{ op: 'i', ns: 'shop.orders', ui: UI, o: { _id: 100 + txn }, o2: { _id: 100 + txn } }], prepare: true },
  });
}

function commit(ts: Ts, txn: number, preparedAt: Ts, commitTimestamp: Ts): Document {
  return oplogEntry(ts, 1, {
    op: 'c', ns: 'admin.$cmd', lsid: session(txn), txnNumber: Long.fromNumber(3),
    prevOpTime: { ts: bson(preparedAt), t: Long.fromNumber(1) },
    o: { commitTransaction: 1, commitTimestamp: bson(commitTimestamp) },
  });
}

function abort(ts: Ts, txn: number, preparedAt: Ts): Document {
  return oplogEntry(ts, 1, {
    op: 'c', ns: 'admin.$cmd', lsid: session(txn), txnNumber: Long.fromNumber(3),
    prevOpTime: { ts: bson(preparedAt), t: Long.fromNumber(1) },
    o: { abortTransaction: 1 },
  });
}

async function open(): Promise<{ store: Store; committer: ManifestCommitter }> {
  const store = await openStore(await mkdtemp(join(tmpdir(), 'mongo-pitr-open-prepares-')));
  return { store, committer: await ManifestCommitter.open(store) };
}

const chainOf = (manifest: Manifest): Chain => {
  const chain = manifest.chains[0];
  assert.ok(chain);
  return chain;
};
const tsList = (records: readonly { ts: Ts }[] | undefined): Ts[] | undefined => records?.map((record) => record.ts);
const ONE_CHUNK_A_SECOND = { chunkBytes: 16 * 1024 * 1024, chunkSpanSeconds: 1 };
const cutoff = (ts: Ts) => parseCutoff(`${ts.t}:${ts.i}`);

test('the open set: the base oplog ends with A open, carried chunk to chunk; C aborted, A committed in a later chunk, D left open', async () => {
  const A = at(1), B = at(2), C = at(4), D = at(8);
  const state = settledMember([insert(at(0), 1), prepare(A, 1), prepare(B, 2), commit(at(3), 2, B, { t: B.t, i: 2 })]);
  // T0 is the commit point, at(3): the base oplog starts at A, the first entry of a transaction
  // open there, which config.transactions names (db/session/session_txn_record.idl: state
  // "prepared", startOpTime; source/transaction-start.ts).
  state.collections.set('config.transactions', [{ _id: session(1), txnNum: Long.fromNumber(3), state: 'prepared', startOpTime: { ts: bson(A), t: Long.fromNumber(1) }, lastWriteOpTime: { ts: bson(A), t: Long.fromNumber(1) } }]);
  const source = fakeSource(state);
  const { store, committer } = await open();
  const base = await takeBase({ source, store, committer });
  assert.equal(base.stoppedEarly, false);
  if (base.stoppedEarly) return;
  assert.deepEqual(tsList(base.chain.base.oplog.openPrepares), [A], 'B was decided inside the base oplog, A was not');

  state.oplog.push(prepare(C, 3), insert(at(5), 2), abort(at(6), 3, C), commit(at(7), 1, A, { t: at(7).t, i: 0 }), prepare(D, 4), insert(at(9), 3));
  const pass = await archiveOplog({ source, store, committer, chain: base.chain, limits: ONE_CHUNK_A_SECOND });
  assert.equal(pass.chunks, 6);
  const chain = chainOf(committer.manifest);
  assert.deepEqual(chain.chunks.map((chunk) => tsList(chunk.openPrepares)), [[A, C], [A, C], [A], [], [D], [D]]);

  // Only the prepare's ts and an opaque id: nothing that names a namespace or holds data.
  const records = chain.chunks.flatMap((chunk) => chunk.openPrepares ?? []);
  for (const record of records) assert.deepEqual(Object.keys(record).sort(), ['id', 'ts']);
  assert.doesNotMatch(JSON.stringify(records), /shop|orders|admin/);
  assert.match(records[0]?.id ?? '', /^[0-9a-f]{32}$/);

  // The window ends just before D; a cutoff where A and C were open but decided later is fine.
  assert.deepEqual(earliestUndecidedPrepare(chain), D);
  const window = windowOf(chain);
  assert.deepEqual(window.to, { t: D.t, i: 0 });
  assert.deepEqual(window.heldByPrepare, D);
  assert.match(formatWindow(window), new RegExp(`held at a transaction prepared at ${D.t}:${D.i}`));
  assert.match(windowWords(window, { positions: true }), new RegExp(`held at a transaction prepared at .*UTC.* \\[${D.t}:${D.i}\\], undecided in the archive`));
  assert.equal(planRestore(committer.manifest, cutoff(at(5))).chain.id, chain.id);
  assert.equal(planRestore(committer.manifest, cutoff(D)).chain.id, chain.id, 'a cutoff at D applies nothing from D on');
  assert.throws(() => planRestore(committer.manifest, cutoff(at(9))), (error: unknown) => {
    assert.ok(error instanceof UsageError);
    // The prepare's time first (its second, in the host's zone), then the position --until takes.
    assert.match(error.message, new RegExp(`past a transaction prepared at ${instantText(D.t * 1000, {}).replace(/[()+]/g, '\\$&')} \\[${D.t}:${D.i}\\] whose commit or abort is not archived yet`));
    assert.match(error.hint ?? '', /at or before .* or wait for the next oplog pass/);
    return true;
  });
  // status reads the same window: its chain and source windows end just before D.
  const [summary] = summarizeSources(committer.manifest, Date.now());
  const end = summary?.chains[0]?.window?.to;
  assert.deepEqual([end?.t, end?.i, summary?.window?.to.t, summary?.window?.to.i], [D.t, 0, D.t, 0]);
  // A millisecond cutoff in D's own second needs no decision of D (prepared-cutoff.ts).
  assert.equal(planRestore(committer.manifest, parseCutoff(new Date((D.t * 1000) + 500).toISOString())).chain.id, chain.id);
  await store.close();
});

test('the open set survives a segment seal: the head alone answers the window question', async () => {
  const P = at(2);
  const state = settledMember([insert(at(0), 1)]);
  const source = fakeSource(state);
  const { store, committer } = await open();
  const base = await takeBase({ source, store, committer });
  if (base.stoppedEarly) return assert.fail('the base finishes');
  state.oplog.push(insert(at(1), 2), prepare(P, 1), insert(at(3), 3));
  await archiveOplog({ source, store, committer, chain: base.chain, limits: ONE_CHUNK_A_SECOND });

  const { manifest: head, writes } = sealAll(committer.manifest, base.chain.id, 'testrun');
  const sealed = chainOf(head);
  assert.equal(sealed.chunks.length, 0, 'every record is in a segment');
  assert.ok(sealed.history);
  assert.deepEqual(tsList(sealed.history.end.openPrepares), [P]);
  assert.deepEqual(earliestUndecidedPrepare(sealed), P);
  assert.deepEqual(windowOf(sealed).heldByPrepare, P);
  // The segment keeps every record's set too.
  const write = writes[0];
  assert.ok(write && sealed.history.segment);
  const body = parseIndexObject(write.bytes, sealed.history.segment, SEGMENT_KIND, sealed.id) as SegmentBody;
  assert.deepEqual(body.chunks.map((chunk) => tsList(chunk.openPrepares)), [[], [P], [P]]);

  // Decided in the next pass, after the seal: the set is carried from the sealed end.
  state.oplog.push(commit(at(4), 1, P, { t: at(4).t, i: 0 }));
  await committer.commit(() => head);
  await archiveOplog({ source, store, committer, chain: chainOf(committer.manifest), limits: ONE_CHUNK_A_SECOND });
  const after = chainOf(committer.manifest);
  assert.deepEqual(tsList(after.chunks.at(-1)?.openPrepares), []);
  assert.equal(earliestUndecidedPrepare(after), undefined);
  assert.equal(windowOf(after).heldByPrepare, undefined);
  await store.close();
});

test('records older than the open set stay unknown: no window cut, no refusal (replay checks at its end)', async () => {
  const P = at(2);
  const state = settledMember([insert(at(0), 1)]);
  const source = fakeSource(state);
  const { store, committer } = await open();
  const base = await takeBase({ source, store, committer });
  if (base.stoppedEarly) return assert.fail('the base finishes');
  // As a chain written before this field: its base oplog record has no set.
  await committer.commit((manifest) => ({
    ...manifest,
    chains: manifest.chains.map((chain) => {
      const { openPrepares: _dropped, ...oplog } = chain.base.oplog;
      return { ...chain, base: { ...chain.base, oplog } };
    }),
  }));
  state.oplog.push(insert(at(1), 2), prepare(P, 1), insert(at(3), 3));
  await archiveOplog({ source, store, committer, chain: chainOf(committer.manifest), limits: ONE_CHUNK_A_SECOND });
  const chain = chainOf(committer.manifest);
  assert.ok(chain.chunks.every((chunk) => chunk.openPrepares === undefined), 'unknown, never a guess');
  assert.equal(earliestUndecidedPrepare(chain), undefined);
  assert.equal(planRestore(committer.manifest, cutoff(at(3))).chain.id, chain.id);
  await store.close();
});

test('the stream carries the set too: a prepare decided in a later streamed chunk leaves it, a new one stays', async () => {
  const P = at(2), Q = at(5);
  const state = settledMember([insert(at(0), 1)]);
  const source = fakeSource(state);
  const { store, committer } = await open();
  const base = await takeBase({ source, store, committer });
  if (base.stoppedEarly) return assert.fail('the base finishes');
  assert.deepEqual(base.chain.base.oplog.openPrepares, []);
  state.oplog.push(insert(at(1), 2), prepare(P, 1), insert(at(3), 3), commit(at(4), 1, P, { t: at(4).t, i: 0 }), prepare(Q, 2));
  const controller = new AbortController();
  const stop = setTimeout(() => controller.abort(), 1_500);
  try {
    await streamOplog({ source, store, limits: ONE_CHUNK_A_SECOND, flushIntervalMs: 200, idleMs: 20, compactEveryMs: 0, signal: controller.signal });
  } finally {
    clearTimeout(stop);
  }
  const chain = chainOf((await ManifestCommitter.open(store)).manifest);
  assert.deepEqual(chain.chunks.map((chunk) => tsList(chunk.openPrepares)), [[], [P], [P], [], [Q]]);
  assert.deepEqual(earliestUndecidedPrepare(chain), Q);
  await store.close();
});
