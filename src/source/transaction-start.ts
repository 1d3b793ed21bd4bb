// Where a base's consistency oplog must start so no transaction is cut in half. A large
// transaction (4.2+) is a chain of applyOps entries linked by prevOpTime, written in
// contiguous oplog slots; a commit point can fall between two of them. Starting the oplog at
// the chain's first entry lets replay apply the transaction whole.
import type { Source } from './connect-source.ts';
import { tsEquals, tsFromBson, tsToBson, type Ts } from '../timestamp.ts';

/** Links followed at most: a transaction of this many 16 MB entries is far past any real one. */
const MAX_LINKS = 10_000;

export async function transactionSafeStart(source: Source, ts: Ts): Promise<Ts> {
  const oplog = source.client.db('local').collection('oplog.rs');
  let start = ts;
  for (let links = 0; links < MAX_LINKS; links++) {
    const entry = await oplog.findOne(
      { ts: tsToBson(start) },
      { projection: { prevOpTime: 1 }, readPreference: source.readPreference },
    );
    const prev = entry?.prevOpTime?.ts;
    if (!prev) return start;
    const previous = tsFromBson(prev);
    if (previous.t === 0 && previous.i === 0) return start;
    if (tsEquals(previous, start)) return start;
    start = previous;
  }
  return start;
}
