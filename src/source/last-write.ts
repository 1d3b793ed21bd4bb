// T1 for a base: the newest write the pinned member had applied when the dump ended, and the
// wait until that write is majority-committed.
//
// The dump reads at local read concern, so it can hold any write the member had applied; the
// majority point can be far behind under replication lag. T1 must therefore be the member's
// hello.lastWrite.opTime (its last applied optime: repl/replication_coordinator_impl.cpp fills
// lastWrite from it), read after the last collection was dumped, and the base is sealed only once
// the member's hello.lastWrite.majorityOpTime covers T1 (optime.ts says when an optime is covered).
// FerretDB reports no lastWrite: there the base oplog is read to the newest op, as before, and the
// wait cannot be shown against it.
import { setTimeout as sleep } from 'node:timers/promises';
import { Timestamp, type Document } from 'mongodb';
import { SourceError } from '../errors.ts';
import { tsFromBson, tsToBson } from '../timestamp.ts';
import type { Source } from './connect-source.ts';
import { formatOpTime, releaseDecision, sameEntry, termOf, type OpTime } from './optime.ts';
import { timeLimit } from './time-limit.ts';

export const DEFAULT_MAJORITY_WAIT_MS = 60_000;
const POLL_MS = 100;

/** What hello says about the member's writes: its last applied optime and its majority point. */
export interface LastWrite {
  readonly opTime: OpTime;
  readonly majority: OpTime | null;
}

export function lastWriteOf(hello: Document): LastWrite | null {
  const opTime = opTimeOf(hello.lastWrite?.opTime);
  return opTime ? { opTime, majority: opTimeOf(hello.lastWrite?.majorityOpTime) } : null;
}

function opTimeOf(value: unknown): OpTime | null {
  const ts: unknown = (value as { ts?: unknown } | undefined)?.ts;
  if (!(ts instanceof Timestamp)) return null;
  return { ts: tsFromBson(ts), t: termOf((value as { t?: unknown }).t) };
}

/** The seam the wait reads the member through: hello, and the term of the entry at a ts. */
export interface MemberProbe {
  hello(): Promise<Document>;
  entryAt(ts: OpTime['ts']): Promise<OpTime | null>;
}

export function memberProbe(source: Source): MemberProbe {
  const oplog = source.client.db('local').collection('oplog.rs');
  return {
    hello: () => source.client.db('admin').command({ hello: 1 }, timeLimit(source.deadline)),
    entryAt: async (ts) => {
      const entry = await oplog.findOne({ ts: tsToBson(ts) }, { projection: { ts: 1, t: 1 }, ...timeLimit(source.deadline) });
      return entry?.ts instanceof Timestamp ? { ts: tsFromBson(entry.ts), t: termOf(entry.t) } : null;
    },
  };
}

/**
 * Waits until the member's majority point covers `t1`, at most `timeoutMs`. Throws SourceError
 * naming both optimes when it does not in time, or when T1 was rolled back meanwhile (the next
 * run takes the base again).
 */
export async function waitForMajority(probe: MemberProbe, t1: OpTime, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let majority: OpTime | null = null;
  for (;;) {
    majority = lastWriteOf(await probe.hello())?.majority ?? null;
    const decision = majority ? releaseDecision(t1, majority) : 'wait';
    if (decision === 'release') return;
    if (decision === 'verify') {
      if (sameEntry(t1, await probe.entryAt(t1.ts))) return;
      throw new SourceError(`T1 ${formatOpTime(t1)} was rolled back: the majority point is ${majority ? formatOpTime(majority) : 'unknown'}`, {
        hint: 'a failover happened during the base; run the backup again',
      });
    }
    if (Date.now() >= deadline) {
      throw new SourceError(
        `the majority point ${majority ? formatOpTime(majority) : '(none reported)'} did not reach T1 ${formatOpTime(t1)} within ${timeoutMs} ms`,
        { hint: 'the replica set is lagging or has lost its majority; check rs.status(), or raise the majority wait' },
      );
    }
    await sleep(POLL_MS, undefined, { signal });
  }
}
