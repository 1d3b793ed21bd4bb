// The applyOps applier sends each entry's `o`/`o2` in the field order the source logged them:
// the command is serialized by the driver, and an object decoded the ordinary way would put
// integer-like names ("10") first. Checked on the bytes of the command the driver would send.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BSON, Int32, Timestamp } from 'mongodb';
import type { Document, MongoClient } from 'mongodb';
import { decodeOplogEntry } from '../../../src/archive/bson-decode.ts';
import { decodeOrdered } from '../../../src/ordered-document.ts';
import { ApplyOpsApplier } from '../../../src/target/applyops-applier.ts';

describe('ApplyOpsApplier: documents keep their field order', () => {
  it('an insert of {_id, b, "10"} is sent as {_id, b, "10"}', async () => {
    const o = new Map<string, unknown>([['_id', new Int32(1)], ['b', new Int32(1)], ['10', new Int32(2)]]);
    const raw = BSON.serialize(new Map<string, unknown>([['ts', new Timestamp({ t: 1, i: 1 })], ['op', 'i'], ['ns', 'db.c'], ['o', o]]) as unknown as Document);
    const sent: Uint8Array[] = [];
    const client = { db: () => ({ command: async (command: Document) => void sent.push(BSON.serialize(command)) }) } as unknown as MongoClient;
    await new ApplyOpsApplier(client).applyCrud([decodeOplogEntry(raw)]);
    const command = decodeOrdered(sent[0] ?? new Uint8Array());
    const op = (command.get('applyOps') as Array<Map<string, unknown>>)[0];
    assert.deepEqual([...(op?.get('o') as Map<string, unknown>).keys()], ['_id', 'b', '10']);
  });
});
