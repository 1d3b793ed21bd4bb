// The base's majority wait on T1 (hello.lastWrite: mongodb/mongo src/mongo/db/repl/hello.idl,
// optimes {ts, t} per src/mongo/db/repl/optime.h), through the MemberProbe seam.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SourceError } from '../../../src/errors.ts';
import { lastWriteOf, waitForMajority, type MemberProbe } from '../../../src/source/last-write.ts';
import { memberHello } from '../../support/fake-member.ts';

const T1 = { ts: { t: 200, i: 3 }, t: 4 };

function probe(majorities: { ts: { t: number; i: number }; t: number }[], entry: { ts: { t: number; i: number }; t?: number } | null): MemberProbe {
  let call = 0;
  return {
    hello: async () => memberHello(T1, majorities[Math.min(call++, majorities.length - 1)] ?? T1),
    entryAt: async () => entry,
  };
}

test('lastWriteOf reads both optimes with their terms', () => {
  const parsed = lastWriteOf(memberHello(T1, { ts: { t: 199, i: 1 }, t: 4 }));
  assert.deepEqual(parsed, { opTime: T1, majority: { ts: { t: 199, i: 1 }, t: 4 } });
  assert.equal(lastWriteOf({ isWritablePrimary: true, setName: 'rs0', ok: 1 }), null, 'FerretDB reports no lastWrite');
});

test('waits until the majority point reaches T1 in its term', async () => {
  await waitForMajority(probe([{ ts: { t: 199, i: 1 }, t: 4 }, { ts: { t: 200, i: 3 }, t: 4 }], null), T1, 2_000);
});

test('a later term past T1 counts only while the member still holds T1 with its term', async () => {
  const later = [{ ts: { t: 205, i: 1 }, t: 5 }];
  await waitForMajority(probe(later, T1), T1, 2_000);
  await assert.rejects(waitForMajority(probe(later, { ts: T1.ts, t: 5 }), T1, 2_000), (error: unknown) => {
    assert.ok(error instanceof SourceError);
    assert.match(error.message, /T1 200:3 \(term 4\) was rolled back/);
    return true;
  });
});
