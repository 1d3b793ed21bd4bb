// The applyOps applier against a fake target answering exactly as mongod's code does
// (fake-applyops-server.ts cites the files: src/mongo/db/repl/apply_ops.cpp, oplog.cpp
// applyOperation_inlock, src/mongo/db/commands/apply_ops_cmd.cpp, apply_ops.idl and
// jstests/core/administrative/apply_ops/apply_ops2.js in mongodb/mongo), for both server
// generations: 'current' (refuses alwaysUpsert, applies op by op, never upserts without `b`)
// and '6.0' (alwaysUpsert and allowAtomic default true). Entries are in the shapes a 6.0+
// primary logs: ui, t, v, wall, `$v: 2` diffs with o2 {_id}.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Long, MongoServerError, Timestamp, UUID, type Document } from 'mongodb';
import { TargetError } from '../../../src/errors.ts';
import type { OplogEntry } from '../../../src/oplog-entry.ts';
import { ApplyOpsApplier } from '../../../src/target/applyops-applier.ts';
import type { ApplyOpsDialect } from '../../../src/target/applyops-commands.ts';
import { readApplyOpsFailure } from '../../../src/target/applyops-reply.ts';
import { emptyApplyStats } from '../../../src/target/applier.ts';
import { foldDocument, planDocuments } from '../../../src/target/fold-batch.ts';
import { idKey } from '../../../src/target/id-key.ts';
import { toOrdered, toPlain } from '../../../src/ordered-document.ts';
import { probeApplyOps } from '../../../src/target/open-target.ts';
import { fakeApplyOpsServer, type ServerGeneration } from './fake-applyops-server.ts';

let clock = 0;
function entry(op: 'i' | 'u' | 'd', ns: string, o: Document, o2?: Document): OplogEntry {
  clock++;
  return {
    op, ns, ui: new UUID(), o, ...(o2 ? { o2 } : {}),
    ts: new Timestamp({ t: 1_750_000_000, i: clock }), t: Long.fromNumber(3), v: Long.fromNumber(2), wall: new Date(1_750_000_000_000 + clock),
  } as unknown as OplogEntry;
}
const ins = (ns: string, doc: Document) => entry('i', ns, doc);
const diff = (ns: string, id: unknown, d: Document) => entry('u', ns, { $v: 2, diff: d }, { _id: id });
const replace = (ns: string, doc: Document) => entry('u', ns, doc, { _id: doc._id });
const del = (ns: string, id: unknown) => entry('d', ns, { _id: id });

/** What the probe in open-target.ts picks for each generation (checked in its own test below). */
const DIALECT: Record<ServerGeneration, ApplyOpsDialect> = { current: 'current', '6.0': 'legacy' };
const GENERATIONS: ServerGeneration[] = ['current', '6.0'];

function setup(generation: ServerGeneration, initial: Record<string, Document[]>) {
  const server = fakeApplyOpsServer(generation, initial);
  const applier = new ApplyOpsApplier(server.client, DIALECT[generation]);
  const applyOpsCommands = () => server.commands.filter((command) => 'applyOps' in command);
  return { server, applier, applyOpsCommands };
}

for (const generation of GENERATIONS) {
  describe(`ApplyOpsApplier on a ${generation} server`, () => {
    it('an insert of an _id the base already has ends with the op\'s document', async () => {
      const { server, applier } = setup(generation, { 'shop.c': [{ _id: 1, v: 'dump saw a later state' }] });
      await applier.applyCrud([ins('shop.c', { _id: 1, v: 'inserted' })]);
      assert.deepEqual(server.docs('shop.c'), [{ _id: 1, v: 'inserted' }]);
      assert.equal(applier.stats.inserted, 1);
    });

    it('a $v:2 update of a document the base lacks creates nothing and is counted missing', async () => {
      const { server, applier, applyOpsCommands } = setup(generation, { 'shop.c': [{ _id: 1, a: 1 }] });
      await applier.applyCrud([diff('shop.c', 2, { u: { a: 5 }, i: { b: 1 } }), diff('shop.c', 1, { u: { a: 2 } })]);
      assert.deepEqual(server.docs('shop.c'), [{ _id: 1, a: 2 }], 'no partial {_id: 2, a: 5, b: 1}');
      assert.equal(applier.stats.missing, 1);
      assert.equal(applier.stats.updated, 1);
      assert.equal(applyOpsCommands().length, 1, 'the server applied the other op: nothing is sent again');
    });

    it('a replacement update of a document the base lacks creates the op\'s document', async () => {
      const { server, applier } = setup(generation, { 'shop.c': [] });
      await applier.applyCrud([replace('shop.c', { _id: 3, x: 1 })]);
      assert.deepEqual(server.docs('shop.c'), [{ _id: 3, x: 1 }]);
      assert.equal(applier.stats.missing, 0);
    });

    it('a delete of a document the base lacks does nothing and fails nothing', async () => {
      const { server, applier } = setup(generation, { 'shop.c': [{ _id: 1 }] });
      await applier.applyCrud([del('shop.c', 9), del('shop.gone', 9)]);
      assert.deepEqual(server.docs('shop.c'), [{ _id: 1 }]);
      assert.equal(applier.stats.deleted, 2);
    });

    it('op 3 of 5 failing per-op: the other four are applied in one command, op 3 counted missing', async () => {
      const { server, applier, applyOpsCommands } = setup(generation, { 'shop.c': [{ _id: 1, n: 0 }] });
      await applier.applyCrud([
        ins('shop.c', { _id: 2, n: 0 }),
        diff('shop.c', 1, { u: { n: 1 } }),
        diff('shop.c', 7, { u: { n: 1 } }), // deleted before the dump reached it
        diff('shop.c', 2, { u: { n: 1 } }),
        del('shop.c', 7),
      ]);
      assert.deepEqual(server.docs('shop.c'), [{ _id: 1, n: 1 }, { _id: 2, n: 1 }]);
      assert.equal(applyOpsCommands().length, 1);
      assert.deepEqual(applier.stats, { ...emptyApplyStats(), inserted: 1, updated: 2, missing: 1, deleted: 1 });
    });

    it('an n entry is not sent, so the reply\'s results line up with the ops (the server skips n without a result)', async () => {
      const { server, applier, applyOpsCommands } = setup(generation, { 'shop.c': [] });
      const noop = { ...ins('shop.c', { _id: 0 }), op: 'n', ns: '', o: { msg: 'periodic noop' } } as unknown as OplogEntry;
      await applier.applyCrud([noop, diff('shop.c', 4, { u: { a: 1 } }), ins('shop.c', { _id: 5 })]);
      assert.deepEqual(applyOpsCommands().flatMap((command) => (command.applyOps as Document[]).map((op) => op.op)), ['u', 'i']);
      assert.deepEqual(server.docs('shop.c'), [{ _id: 5 }]);
      assert.equal(applier.stats.missing, 1);
    });

    it('op 3 of 5 throwing NamespaceNotFound: the collection is created and ops 3 to 5 sent again', async () => {
      const { server, applier, applyOpsCommands } = setup(generation, { 'shop.kept': [] });
      await applier.applyCrud([
        ins('shop.kept', { _id: 1 }),
        diff('shop.kept', 8, { u: { gone: true } }),
        ins('shop.tmp', { _id: 7, n: 1 }),
        diff('shop.tmp', 7, { u: { n: 2 } }),
        ins('shop.kept', { _id: 2 }),
      ]);
      assert.deepEqual(applyOpsCommands().map((command) => (command.applyOps as Document[]).length), [5, 3]);
      assert.deepEqual(server.docs('shop.tmp'), [{ _id: 7, n: 2 }]);
      assert.deepEqual(server.docs('shop.kept'), [{ _id: 1 }, { _id: 2 }]);
      assert.equal(applier.stats.missing, 1, 'the missing update before the stop is counted once');
    });

    it('op 3 of 5 throwing anything else fails the restore naming op 3', async () => {
      const { server, applier } = setup(generation, { 'shop.c': [] });
      const batch = [ins('shop.c', { _id: 1 }), ins('shop.c', { _id: 2 }), entry('d', 'shop.c', { notAnId: 3 }), ins('shop.c', { _id: 4 }), ins('shop.c', { _id: 5 })];
      await assert.rejects(applier.applyCrud(batch), (error: unknown) => {
        assert.ok(error instanceof TargetError);
        assert.match(error.message, /could not apply d shop\.c/);
        assert.match(error.message, /NoSuchKey|missing _id/);
        return true;
      });
      // On the current server, op by op: ops 1 and 2 stay, 4 and 5 were never tried.
      if (generation === 'current') assert.deepEqual(server.docs('shop.c'), [{ _id: 1 }, { _id: 2 }]);
    });

    it('a transaction is sent without the fields the command refuses or misreads', async () => {
      const { server, applier, applyOpsCommands } = setup(generation, { 'shop.c': [{ _id: 1, a: 1 }] });
      const lsid = { id: new UUID(), uid: Buffer.alloc(32, 1) };
      const inner = [ins('shop.c', { _id: 2 }), diff('shop.c', 1, { u: { a: 2 } }), replace('shop.c', { _id: 3 })].map((e) => ({
        ...e, lsid, txnNumber: Long.fromNumber(5), stmtId: 0, prevOpTime: { ts: new Timestamp({ t: 0, i: 0 }), t: Long.fromNumber(-1) }, partialTxn: true,
      }));
      await applier.applyTransaction(inner);
      const ops = applyOpsCommands().flatMap((command) => command.applyOps as Document[]);
      assert.deepEqual(ops.map((op) => Object.keys(op)), [['op', 'ns', 'o'], ['op', 'ns', 'o', 'o2'], ['op', 'ns', 'o', 'o2', 'b']]);
      assert.deepEqual(server.docs('shop.c'), [{ _id: 1, a: 2 }, { _id: 2 }, { _id: 3 }]);
      assert.equal(applier.stats.transactions, 1);
    });
  });
}

describe('applyOps commands per server generation', () => {
  it('never carry alwaysUpsert to the current server, and tell older ones alwaysUpsert: false, allowAtomic: false', async () => {
    for (const generation of GENERATIONS) {
      const { applier, applyOpsCommands } = setup(generation, { 'shop.c': [] });
      await applier.applyCrud([ins('shop.c', { _id: 1 })]);
      const options = applyOpsCommands().map(({ applyOps: _ops, ...rest }) => rest);
      assert.deepEqual(options, generation === 'current'
        ? [{ bypassDocumentValidation: true }]
        : [{ bypassDocumentValidation: true, alwaysUpsert: false, allowAtomic: false }]);
    }
  });
});

describe('probeApplyOps', () => {
  it('picks the legacy form where the server takes it, the bare form where it refuses alwaysUpsert', async () => {
    for (const generation of GENERATIONS) {
      const server = fakeApplyOpsServer(generation, {});
      assert.equal(await probeApplyOps((command) => server.client.db('admin').command(command)), DIALECT[generation]);
    }
  });

  it('selects portable on CommandNotFound and refuses on Unauthorized, without a second probe', async () => {
    const sent: Document[] = [];
    const refusing = (code: number, codeName: string) => async (command: Document) => {
      sent.push(command);
      throw new MongoServerError({ ok: 0, code, codeName, errmsg: 'no' });
    };
    assert.equal(await probeApplyOps(refusing(59, 'CommandNotFound')), 'portable');
    await assert.rejects(probeApplyOps(refusing(13, 'Unauthorized')), TargetError);
    assert.equal(sent.length, 2);
  });

  it('passes on a refusal of the bare form too', async () => {
    const run = async () => {
      throw new MongoServerError({ ok: 0, code: 10107, codeName: 'NotWritablePrimary', errmsg: 'not primary' });
    };
    await assert.rejects(probeApplyOps(run), TargetError);
  });
});

describe('readApplyOpsFailure', () => {
  const ops = [{ op: 'i' }, { op: 'u' }, { op: 'i' }, { op: 'd' }];
  const reply = (fields: Document) => new MongoServerError({ ok: 0, ...fields });

  it('a false for an insert is a failure, not a missing document', () => {
    const failure = readApplyOpsFailure(ops, reply({ applied: 4, results: [true, false, false, true], code: 8, codeName: 'UnknownError', errmsg: 'applyOps had one or more errors applying ops' }));
    assert.deepEqual(failure, { missing: [1], failed: [2] });
  });

  it('an exception: the ops before it are judged, the one that threw is where it stopped', () => {
    const failure = readApplyOpsFailure(ops, reply({ applied: 3, results: [true, false, false], code: 26, codeName: 'NamespaceNotFound', errmsg: 'x' }));
    assert.deepEqual(failure, { missing: [1], failed: [], stoppedAt: { index: 2, code: 26 } });
  });

  it('anything else is not read: a refused command, an atomic rollback that reached the end, a network error', () => {
    assert.equal(readApplyOpsFailure(ops, reply({ code: 6711601, errmsg: 'no' })), undefined);
    assert.equal(readApplyOpsFailure(ops, reply({ applied: 4, results: [false, false, false, true], code: 218 })), undefined);
    assert.equal(readApplyOpsFailure(ops, new Error('socket hang up')), undefined);
  });
});

// The two modes must leave the same documents. The portable applier's decision for a document
// is foldDocument (fold-batch.ts) from its state before the batch; the applyOps applier's is
// the server's. Same op sequences, same base, compared document by document.
describe('applyOps and portable modes leave the same documents', () => {
  const NS = 'shop.same';
  const base: Document[] = [{ _id: 1, a: 1, tags: ['x'] }, { _id: 2, a: 2 }, { _id: 'deleted-later', a: 0 }];
  const sequences: Record<string, OplogEntry[]> = {
    'insert over the dump\'s newer state, then a diff': [ins(NS, { _id: 1, a: 0 }), diff(NS, 1, { u: { a: 3 }, i: { b: 1 } })],
    'diff of a document deleted before the dump, then its delete': [diff(NS, 5, { u: { a: 9 } }), del(NS, 5)],
    'diff of a document deleted before the dump, the delete in a later batch': [diff(NS, 6, { i: { z: 1 } })],
    'replacement of a missing document': [replace(NS, { _id: 7, r: true })],
    'delete, re-insert, diff': [del(NS, 2), ins(NS, { _id: 2, fresh: true }), diff(NS, 2, { d: { fresh: false }, i: { n: 1 } })],
    'delete of a missing document': [del(NS, 99)],
    'insert, delete, diff of the gone document': [ins(NS, { _id: 8 }), del(NS, 8), diff(NS, 8, { u: { late: 1 } })],
  };

  for (const generation of GENERATIONS) {
    for (const [name, batch] of Object.entries(sequences)) {
      it(`${generation}: ${name}`, async () => {
        const { server, applier } = setup(generation, { [NS]: base });
        await applier.applyCrud(batch);

        const stats = emptyApplyStats();
        const stored = new Map<string, Document>(base.map((doc) => [idKey(doc._id), doc]));
        const folded = new Map(stored);
        for (const [key, plan] of planDocuments(batch)) {
          const before = stored.get(key);
          const doc = foldDocument(before ? toOrdered(before) : null, plan.entries, stats);
          if (doc === null) folded.delete(key);
          else folded.set(key, toPlain(doc) as Document);
        }
        const portable = [...folded.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, doc]) => doc);
        assert.deepEqual(server.docs(NS), portable);
        assert.equal(applier.stats.missing, stats.missing);
      });
    }
  }
});
