// How many archived oplog entries a restore would replay: what a dry run reports. Objects wholly
// before the cutoff count by the manifest's `count`; the one the cutoff falls inside is read
// (streamed, headers only, its sha256 checked, decrypted with the identity where it is
// encrypted) and counted entry by entry, as replay decides.
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { RestorePlan } from '../archive/chain-window.ts';
import { readBsonFrames } from '../archive/bson-frames.ts';
import { DigestStream } from '../archive/digest.ts';
import type { OplogObject } from '../archive/manifest.ts';
import { readOplogHeader } from '../archive/oplog-header.ts';
import type { Store } from '../store/store.ts';
import { isBeforeCutoff, type Cutoff } from '../timestamp.ts';
import { checkDigest, getRecorded } from './download-chain.ts';
import { decryptStageOf } from '../crypt/store-cipher.ts';

export async function countEntriesBeforeCutoff(store: Store, plan: RestorePlan, signal?: AbortSignal): Promise<number> {
  let total = 0;
  for (const object of [plan.base.oplog, ...plan.chunks]) {
    const { cutoff } = plan;
    const wall = object.lastWall ? new Date(object.lastWall) : undefined;
    if (!cutoff || isBeforeCutoff(object.lastTs, wall, cutoff)) total += object.count;
    else total += await countInObject(store, object, cutoff, signal);
  }
  return total;
}

async function countInObject(store: Store, object: OplogObject, cutoff: Cutoff, signal?: AbortSignal): Promise<number> {
  let count = 0;
  const digest = new DigestStream();
  await pipeline(await getRecorded(store, object, signal), digest, decryptStageOf(store, object), createGunzip(), async (source: AsyncIterable<Buffer>) => {
    for await (const raw of readBsonFrames(source, { label: object.key })) {
      const header = readOplogHeader(raw);
      if (isBeforeCutoff(header.ts, header.wall, cutoff)) count++;
    }
  }, { signal });
  checkDigest(object, digest);
  return count;
}
