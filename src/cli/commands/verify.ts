// mongo-pitr verify: every object's size and sha256, and every chain's continuity, without
// restoring. Reads each object once, streaming; writes nothing.
import type { Command } from 'commander';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import pLimit from 'p-limit';
import { keysOf, verifyContinuity } from '../../archive/chain-window.ts';
import { DigestStream } from '../../archive/digest.ts';
import { collectionObjectsOf, type StoredObject } from '../../archive/manifest.ts';
import { readManifest } from '../../backup/commit.ts';
import { checkDigest, getRecorded } from '../../restore/download-chain.ts';
import type { Store } from '../../store/store.ts';
import { contextOf, withStore } from '../context.ts';
import { counted } from '../receipt-text.ts';

export function registerVerify(program: Command): void {
  program
    .command('verify')
    .description("check every object's sha256 and each chain's continuity, without restoring")
    .action(async (_flags: unknown, command: Command) => {
      const context = contextOf(command);
      const result = await withStore(context, async (store) => {
        const { manifest } = await readManifest(store);
        const limit = pLimit(4);
        let objects = 0;
        for (const chain of manifest.chains) {
          verifyContinuity(chain);
          const all: StoredObject[] = [
            ...collectionObjectsOf(chain.base),
            chain.base.oplog,
            ...chain.chunks,
          ];
          await Promise.all(all.map((object) => limit(() => verifyObject(store, object))));
          objects += all.length;
          context.log.event('verify.chain', `chain ${chain.id}: ${counted(keysOf(chain).length, 'object')} verified`);
        }
        return { chains: manifest.chains.length, objects };
      });
      context.output.result({ type: 'verify', ok: true, ...result }, [`ok: ${counted(result.objects, 'object')} in ${counted(result.chains, 'chain')} verified`]);
    });
}

async function verifyObject(store: Store, object: StoredObject): Promise<void> {
  const body = await getRecorded(store, object);
  const digest = new DigestStream();
  await pipeline(body, digest, new Writable({ write: (_chunk, _encoding, done) => done() }));
  checkDigest(object, digest);
}
