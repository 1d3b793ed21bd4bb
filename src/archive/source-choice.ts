// Which source's chains a restore, find or export reads. A store may hold several sources: one
// per shard, or a replica set and the one restored from it (same set name, a new replicaSetId).
// Their timelines are unrelated, so picking "the newest chain that covers the cutoff" across
// them would restore another shard's data without a word. One source is chosen by --set-name
// (and --replica-set-id where the name is shared), or implied when the store holds only one;
// anything else is refused with the candidates listed. Pure.
import { UsageError } from '../errors.ts';
import { sameSource, type Chain, type Manifest, type SourceIdentity } from './manifest.ts';

export interface SourceChoice {
  readonly setName?: string;
  readonly replicaSetId?: string;
}

/** The distinct sources of a manifest's chains, in the order their first chain appears. */
export function sourcesOf(manifest: Manifest): SourceIdentity[] {
  const sources: SourceIdentity[] = [];
  for (const chain of manifest.chains) if (!sources.some((known) => sameSource(known, chain.source))) sources.push(chain.source);
  return sources;
}

/** "rs0 (replicaSetId 65f0…)", as --set-name and --replica-set-id would name it. */
export function describeSource(source: SourceIdentity): string {
  return source.replicaSetId ? `${source.setName} (--replica-set-id ${source.replicaSetId})` : source.setName;
}

/**
 * The chains of the one source the choice names (oldest first), or every chain when the store
 * holds one source and nothing is named. None or several matching is a UsageError.
 */
export function chainsOfSource(manifest: Manifest, choice: SourceChoice = {}): Chain[] {
  const sources = sourcesOf(manifest);
  if (sources.length === 0) return [];
  const matching = sources.filter((source) =>
    (choice.setName === undefined || source.setName === choice.setName) &&
    (choice.replicaSetId === undefined || source.replicaSetId === choice.replicaSetId));
  const listed = sources.map(describeSource).join(', ');
  const [chosen, ...others] = matching;
  if (!chosen) {
    throw new UsageError(`no chain in this store belongs to ${describeChoice(choice)}; its sources: ${listed}`);
  }
  if (others.length > 0) {
    const named = choice.setName === undefined ? '' : ` named ${choice.setName}`;
    throw new UsageError(`the store holds chains of ${matching.length} sources${named}; choose one with --set-name and --replica-set-id: ${matching.map(describeSource).join(', ')}`);
  }
  return manifest.chains.filter((chain) => sameSource(chain.source, chosen));
}

function describeChoice(choice: SourceChoice): string {
  const parts = [choice.setName === undefined ? '' : `--set-name ${choice.setName}`, choice.replicaSetId === undefined ? '' : `--replica-set-id ${choice.replicaSetId}`];
  return parts.filter(Boolean).join(' ');
}
