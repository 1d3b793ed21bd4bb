// applyOps mode: inserts and updates into a collection the target lacks (written, then dropped
// before the base's catalog read). The fake target answers applyOps as the server's
// src/mongo/db/repl/apply_ops.cpp (_applyOps) does: op by op, no atomicity; a delete into a
// missing collection succeeds; an insert or update throws NamespaceNotFound (26) with `applied`
// counting the ops up to the failed one, which ends the command. Entries are in the shapes a
// 6.0+ primary logs (ui, $v:2 diff updates with o2, t, v, wall).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Long, MongoServerError, Timestamp, UUID, type Document, type MongoClient } from 'mongodb';
import type { OplogEntry } from '../../../src/oplog-entry.ts';
import { ApplyOpsApplier } from '../../../src/target/applyops-applier.ts';
import { TargetError } from '../../../src/errors.ts';

function fakeServer(collections: string[]) {
  const existing = new Set(collections);
  const applied: string[] = [];
  const applyOpsCalls: number[] = [];
  const client = {
    db: (db: string) => ({
      command: async (command: Document) => {
        if ('create' in command) {
          const ns = `${db}.${String(command.create)}`;
          if (existing.has(ns)) throw new MongoServerError({ ok: 0, code: 48, codeName: 'NamespaceExists', errmsg: `Collection ${ns} already exists.` });
          existing.add(ns);
          return { ok: 1 };
        }
        assert.ok(Array.isArray(command.applyOps));
        applyOpsCalls.push(command.applyOps.length);
        let count = 0;
        for (const op of command.applyOps as Document[]) {
          count++;
          if (!existing.has(op.ns) && op.op !== 'd') {
            throw new MongoServerError({
              ok: 0, applied: count, code: 26, codeName: 'NamespaceNotFound',
              errmsg: `cannot apply insert or update operation on a non-existent namespace ${op.ns}: ${JSON.stringify(op)}`,
              results: [...Array(count - 1).fill(true), false],
            });
          }
          if (existing.has(op.ns)) applied.push(`${op.op} ${op.ns} ${JSON.stringify(idOf(op.o2) ?? idOf(op.o))}`);
        }
        return { ok: 1, applied: count, results: Array(count).fill(true) };
      },
      listCollections: (filter: { name: { $in: string[] } }) => ({
        toArray: async () => filter.name.$in.filter((coll) => existing.has(`${db}.${coll}`)).map((name) => ({ name, type: 'collection' })),
      }),
    }),
  };
  return { client: client as unknown as MongoClient, existing, applied, applyOpsCalls };
}

let i = 0;
function entry(op: 'i' | 'u' | 'd', ns: string, o: Document, o2?: Document): OplogEntry {
  i++;
  return {
    op, ns, ui: new UUID(), o, ...(o2 ? { o2 } : {}),
    ts: new Timestamp({ t: 1_750_000_000, i }), t: Long.fromNumber(3), v: Long.fromNumber(2), wall: new Date(1_750_000_000_000 + i),
  } as unknown as OplogEntry;
}

describe('ApplyOpsApplier: a collection dropped before the catalog read', () => {
  it('creates the missing collection and sends the unapplied ops again, once', async () => {
    const server = fakeServer(['shop.kept']);
    const applier = new ApplyOpsApplier(server.client);
    await applier.applyCrud([
      entry('i', 'shop.kept', { _id: 1, a: 1 }),
      entry('d', 'shop.tmp', { _id: 0 }),
      entry('i', 'shop.tmp', { _id: 7, n: 1 }),
      entry('u', 'shop.tmp', { $v: 2, diff: { u: { n: 2 } } }, { _id: 7 }),
      entry('i', 'shop.kept', { _id: 2, a: 2 }),
    ]);
    assert.ok(server.existing.has('shop.tmp'));
    // The first call stopped at the insert into shop.tmp (its 3rd op); the second sent ops 3 to 5.
    assert.deepEqual(server.applyOpsCalls, [5, 3]);
    assert.deepEqual(server.applied, ['i shop.kept 1', 'i shop.tmp 7', 'u shop.tmp 7', 'i shop.kept 2']);
    assert.equal(applier.stats.inserted, 3);
  });

  it('a transaction into a missing collection is applied the same way', async () => {
    const server = fakeServer([]);
    const applier = new ApplyOpsApplier(server.client);
    await applier.applyTransaction([entry('i', 'a.x', { _id: 1 }), entry('i', 'b.y', { _id: 2 })]);
    assert.ok(server.existing.has('a.x') && server.existing.has('b.y'));
    assert.deepEqual(server.applied, ['i a.x 1', 'i b.y 2']);
  });

  it('NamespaceNotFound for a collection that exists is not retried', async () => {
    const server = fakeServer(['shop.kept']);
    const original = server.client.db('admin').command;
    const client = {
      db: (db: string) => ({
        ...server.client.db(db),
        command: async (command: Document) => {
          if ('applyOps' in command) throw new MongoServerError({ ok: 0, code: 26, codeName: 'NamespaceNotFound', errmsg: 'other' });
          return original(command);
        },
      }),
    } as unknown as MongoClient;
    await assert.rejects(new ApplyOpsApplier(client).applyCrud([entry('i', 'shop.kept', { _id: 1 })]), TargetError);
  });
});

/** An op's `o`/`o2` arrive as field-ordered Maps (ordered-document.ts). */
function idOf(doc: unknown): unknown {
  return doc instanceof Map ? doc.get('_id') : (doc as { _id?: unknown } | undefined)?._id;
}
