// The release rule for oplog entries read from one member, by optime (ts, t):
// mongodb/mongo src/mongo/db/repl/optime.h (optimes order by term, then ts; term -1 is protocol
// version 0) and hello.lastWrite.majorityOpTime {ts, t}.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { releaseDecision, sameEntry } from '../../../src/source/optime.ts';

const at = (t: number, i: number, term?: number) => ({ ts: { t, i }, t: term });

test('an entry past the majority point waits; at or before it in the same term it is released', () => {
  assert.equal(releaseDecision(at(100, 2, 3), at(100, 1, 3)), 'wait');
  assert.equal(releaseDecision(at(100, 1, 3), at(100, 1, 3)), 'release');
  assert.equal(releaseDecision(at(99, 7, 3), at(100, 1, 3)), 'release');
});

test("a new term's majority point past an old term's entry does not release it by itself", () => {
  // Old primary wrote {100:2, t:3}; after the failover the term-4 majority point is at 101:1.
  assert.equal(releaseDecision(at(100, 2, 3), at(101, 1, 4)), 'verify');
  // Still in the member's oplog with its term: committed. Gone or replaced: rolled back.
  assert.equal(sameEntry(at(100, 2, 3), at(100, 2, 3)), true);
  assert.equal(sameEntry(at(100, 2, 3), at(100, 2, 4)), false);
  assert.equal(sameEntry(at(100, 2, 3), null), false);
});

test('without terms (protocol version 0, FerretDB) the ts decides', () => {
  assert.equal(releaseDecision(at(100, 2), at(101, 1, 4)), 'release');
  assert.equal(releaseDecision(at(100, 2, 3), at(101, 1, -1)), 'release');
});
