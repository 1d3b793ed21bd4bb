// The walk back from a commit point to the first entry of the transaction chain it may land in.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chainStart } from '../../../src/source/transaction-start.ts';
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
