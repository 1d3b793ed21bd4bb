// The walk back from a commit point to the first entry of the transaction chain it may land in.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Long, Timestamp } from 'mongodb';
import { chainStart, openTransactionsStart } from '../../../src/source/transaction-start.ts';
import { formatTs, type Ts } from '../../../src/timestamp.ts';

const parseTs = (text: string): Ts => {
  const [t = '', i = ''] = text.split(':');
  return { t: Number(t), i: Number(i) };
};

/** An oplog of prevOpTime links ("ts" → "prev ts" or null), counting the lookups. */
function oplogOf(links: Record<string, string | null>) {
  const asked: string[] = [];
  const lookup = async (ts: Ts): Promise<Ts | null> => {
    asked.push(formatTs(ts));
    const prev = links[formatTs(ts)];
    return prev ? parseTs(prev) : null;
  };
  return { asked, lookup };
}

describe('chainStart', () => {
  const chain = { '10:1': '0:0', '10:2': '10:1', '10:3': '10:2', '11:1': null };

  it('walks a commit point inside a chain back to its first entry', async () => {
    const { asked, lookup } = oplogOf(chain);
    assert.equal(formatTs(await chainStart({ ts: parseTs('10:3') }, lookup)), '10:1');
    assert.deepEqual(asked, ['10:3', '10:2', '10:1']);
  });

  it('uses the link read with the point instead of looking the point up again', async () => {
    const { asked, lookup } = oplogOf(chain);
    assert.equal(formatTs(await chainStart({ ts: parseTs('10:3'), prevOpTime: parseTs('10:2') }, lookup)), '10:1');
    assert.deepEqual(asked, ['10:2', '10:1']);
  });

  it('asks nothing for a point read with no link, and stays there', async () => {
    const { asked, lookup } = oplogOf(chain);
    assert.equal(formatTs(await chainStart({ ts: parseTs('11:1'), prevOpTime: null }, lookup)), '11:1');
    assert.deepEqual(asked, []);
  });

  it('stays at a point whose entry is gone or links to itself', async () => {
    assert.equal(formatTs(await chainStart({ ts: parseTs('12:1') }, oplogOf({}).lookup)), '12:1');
    assert.equal(formatTs(await chainStart({ ts: parseTs('13:1') }, oplogOf({ '13:1': '13:1' }).lookup)), '13:1');
  });
});

// config.transactions records as the server keeps them (db/session/session_txn_record.idl:
// `state`, `startOpTime` while prepared or in progress, `lastWriteOpTime`), and the oldest
// active transaction rule of db/transaction/transaction_participant.cpp getOldestActiveTimestamp.
describe('openTransactionsStart', () => {
  const opTime = (text: string) => {
    const ts = parseTs(text);
    return { ts: new Timestamp({ t: ts.t, i: ts.i }), t: Long.fromNumber(1) };
  };
  const T0 = { ts: parseTs('20:5'), prevOpTime: null };

  it('starts at the first entry of a transaction prepared before T0 and still open', async () => {
    const records = [
      { _id: { id: 'a' }, txnNum: Long.fromNumber(3), state: 'prepared', startOpTime: opTime('18:2'), lastWriteOpTime: opTime('18:2') },
      { _id: { id: 'b' }, txnNum: Long.fromNumber(1), lastWriteOpTime: opTime('19:1') }, // a retryable write: no state
    ];
    assert.equal(formatTs(await openTransactionsStart(T0, records, oplogOf({}).lookup)), '18:2');
  });

  it('finds one prepared before T0 and committed since by following its commit\'s prevOpTime', async () => {
    const { asked, lookup } = oplogOf({ '21:1': '18:7', '18:7': '0:0' });
    const records = [{ _id: { id: 'c' }, txnNum: Long.fromNumber(4), state: 'committed', lastWriteOpTime: opTime('21:1') }];
    assert.equal(formatTs(await openTransactionsStart(T0, records, lookup)), '18:7');
    assert.deepEqual(asked, ['21:1', '18:7']);
  });

  it('keeps T0 when every open transaction started after it, or committed before it', async () => {
    const records = [
      { state: 'inProgress', startOpTime: opTime('20:9') },
      { state: 'committed', lastWriteOpTime: opTime('20:1') },
      { state: 'aborted', lastWriteOpTime: opTime('21:4') },
    ];
    assert.equal(formatTs(await openTransactionsStart(T0, records, oplogOf({}).lookup)), '20:5');
  });
});
