// mongo-pitr migrate: converts a format-1 manifest to format 2 now rather than at the next
// backup's first commit (commit.ts does the same conversion on any write). The old manifest is
// kept as manifest-v1.json; every chain is then read back whole from the new head and its
// segments and compared record by record with what was read before, so a conversion that lost
// anything fails loudly instead of going unnoticed.
import { isDeepStrictEqual } from 'node:util';
import { IntegrityError } from '../errors.ts';
import { ManifestCommitter } from './commit.ts';
import { readManifest } from './read-manifest.ts';
import type { Store } from '../store/store.ts';

export interface MigrateResult {
  readonly fromVersion: number;
  readonly toVersion: number;
  readonly chains: number;
  readonly chunks: number;
  /** False when the store was already at format 2 (nothing written). */
  readonly converted: boolean;
}

export async function migrate(store: Store): Promise<MigrateResult> {
  const before = await readManifest(store);
  const fromVersion = before.manifest.formatVersion;
  const chunks = before.manifest.chains.reduce((sum, chain) => sum + chain.chunks.length, 0);
  if (fromVersion >= 2 || before.etag === null) {
    return { fromVersion, toVersion: fromVersion, chains: before.manifest.chains.length, chunks, converted: false };
  }
  const committer = await ManifestCommitter.open(store);
  await committer.commit((manifest) => manifest);
  const after = await readManifest(store);
  for (const [index, chain] of before.manifest.chains.entries()) {
    const { indexKeys: _keys, ...converted } = after.manifest.chains[index] ?? { indexKeys: undefined };
    if (!isDeepStrictEqual(converted, chain)) throw new IntegrityError(`chain ${chain.id} reads back differently after conversion`, { hint: 'the original is kept in manifest-v1.json' });
  }
  return { fromVersion, toVersion: after.manifest.formatVersion, chains: after.manifest.chains.length, chunks, converted: true };
}
