// Before a restore writes anything: is the cutoff past a prepared transaction whose decision the
// archive does not hold? A chain records its undecided prepares on every oplog object
// (archive/open-prepares.ts), and planRestore refuses such a cutoff from the manifest alone. A
// chain whose last record predates that field (written by an older mongo-pitr, or continued from
// such a record) says nothing, and replay would find out only at its end, with the target
// written. For those chains only, this scan reads the plan's oplog objects (streamed, each
// checked against its sha256, decrypted where encrypted) for prepares before the cutoff and
// their commitTransaction/abortTransaction, then the chunks after the cutoff only while one is
// still undecided, and refuses the cutoff as planRestore would.
// How a prepare and its decision are logged: db/op_observer/op_observer_impl.cpp
// (onTransactionPrepare: applyOps with `prepare: true`; onPreparedTransactionCommit /
// onPreparedTransactionAbort: {commitTransaction: 1, commitTimestamp} / {abortTransaction: 1}
// with the same lsid and txnNumber). Which prepares the cutoff needs decided:
// prepared-cutoff.ts prepareNeedsDecision.
// Memory bound: one object's stream buffers, one entry, one small record per open prepare.
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { readBsonFrames } from '../archive/bson-frames.ts';
import { undecidedPrepareError, type RestorePlan } from '../archive/chain-window.ts';
import { DigestStream } from '../archive/digest.ts';
import type { OplogObject } from '../archive/manifest.ts';
import { OpenPrepares, openPreparesAtEnd } from '../archive/open-prepares.ts';
import { readOplogHeader } from '../archive/oplog-header.ts';
import { decryptStageOf } from '../crypt/store-cipher.ts';
import type { Store } from '../store/store.ts';
import type { Cutoff } from '../timestamp.ts';
import { checkDigest, getRecorded } from './download-chain.ts';
import { prepareNeedsDecision } from './prepared-cutoff.ts';

/** Whether the plan's chain leaves its undecided prepares unrecorded, so that only a scan can tell. */
export function preparesUnrecorded(plan: RestorePlan): boolean {
  return plan.cutoff !== undefined && openPreparesAtEnd(plan.chain) === undefined;
}

/** Throws planRestore's UsageError when the cutoff needs a decision the chain has not archived. */
export async function refuseUndecidedPrepares(store: Store, plan: RestorePlan, signal?: AbortSignal): Promise<void> {
  const { cutoff } = plan;
  if (!cutoff || !preparesUnrecorded(plan)) return;
  const prepares = new OpenPrepares();
  for (const object of [plan.base.oplog, ...plan.chunks]) await scan(store, object, prepares, signal);
  for (const object of plan.chain.chunks.slice(plan.chunks.length)) {
    if (awaiting(prepares, cutoff) === undefined) return;
    await scan(store, object, prepares, signal);
  }
  const undecided = awaiting(prepares, cutoff);
  if (undecided) throw undecidedPrepareError(cutoff, undecided);
}

/** The earliest open prepare whose decision the cutoff needs. */
function awaiting(prepares: OpenPrepares, cutoff: Cutoff) {
  return prepares.records().find(({ ts }) => prepareNeedsDecision(ts, undefined, cutoff))?.ts;
}

async function scan(store: Store, object: OplogObject, prepares: OpenPrepares, signal?: AbortSignal): Promise<void> {
  const digest = new DigestStream();
  await pipeline(await getRecorded(store, object, signal), digest, decryptStageOf(store, object), createGunzip(), async (source: AsyncIterable<Buffer>) => {
    for await (const raw of readBsonFrames(source, { label: object.key })) prepares.observe({ raw, header: readOplogHeader(raw) });
  }, { signal });
  checkDigest(object, digest);
}
