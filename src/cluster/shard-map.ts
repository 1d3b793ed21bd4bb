// Which target shard each source shard's data goes to on restore. Pure.
//
// A restore writes each source shard's data onto one target shard and rewrites the shard names
// in the config metadata (config-metadata.ts), so the map must be total on the source shards
// and one-to-one: two source shards onto one target would merge their chunks' owners and their
// databases' primaries, which the rewritten metadata could not tell apart afterwards.
import { UsageError } from '../errors.ts';

/** Source shard name → target shard name; every source shard mapped, no two onto one target. */
export type ShardMap = ReadonlyMap<string, string>;

const SYNTAX_HINT = 'write --shard-map source=target pairs separated by commas, e.g. --shard-map shard01=rs-a,shard02=rs-b';

/** `--shard-map a=x,b=y` as pairs, unchecked against any cluster (UsageError on bad syntax). */
export function parseShardMapOption(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const piece of text.split(',').map((part) => part.trim())) {
    if (piece.length === 0) continue;
    const match = /^([^=\s]+)\s*=\s*([^=\s]+)$/.exec(piece);
    if (!match?.[1] || !match[2]) throw new UsageError(`--shard-map: "${piece}" is not source=target`, { hint: SYNTAX_HINT });
    if (map.has(match[1])) throw new UsageError(`--shard-map: source shard ${match[1]} is mapped twice`, { hint: SYNTAX_HINT });
    map.set(match[1], match[2]);
  }
  if (map.size === 0) throw new UsageError('--shard-map is empty', { hint: SYNTAX_HINT });
  return map;
}

/**
 * The map a restore uses: the option's when given, else by name (the target has every source
 * shard's name). UsageError naming the fix when the target has fewer shards than the source, a
 * source shard is unmapped or unknown, a target does not exist, or two map onto one target.
 */
export function resolveShardMap(sourceShards: readonly string[], targetShards: readonly string[], option?: string): ShardMap {
  const targets = new Set(targetShards);
  const listed = `target shards: ${targetShards.join(', ') || 'none'}`;
  if (targetShards.length < sourceShards.length) {
    throw new UsageError(`the target cluster has ${targetShards.length} shard(s), the backup ${sourceShards.length} (${sourceShards.join(', ')})`, {
      hint: 'restore onto a cluster with at least as many shards (addShard on the target first)',
    });
  }
  if (option === undefined) {
    const missing = sourceShards.filter((name) => !targets.has(name));
    if (missing.length === 0) return new Map(sourceShards.map((name) => [name, name]));
    throw new UsageError(`the target cluster has no shard named ${missing.join(', ')} (${listed})`, {
      hint: `map them with --shard-map, e.g. --shard-map ${suggestion(sourceShards, targetShards)}`,
    });
  }
  const map = parseShardMapOption(option);
  const sources = new Set(sourceShards);
  const unknown = [...map.keys()].filter((name) => !sources.has(name));
  if (unknown.length > 0) throw new UsageError(`--shard-map: the backup has no shard ${unknown.join(', ')} (its shards: ${sourceShards.join(', ')})`);
  const unmapped = sourceShards.filter((name) => !map.has(name));
  if (unmapped.length > 0) {
    throw new UsageError(`--shard-map leaves source shard(s) ${unmapped.join(', ')} unmapped`, { hint: `map every source shard, e.g. --shard-map ${suggestion(sourceShards, targetShards)}` });
  }
  const absent = [...map.values()].filter((name) => !targets.has(name));
  if (absent.length > 0) throw new UsageError(`--shard-map: the target cluster has no shard ${absent.join(', ')} (${listed})`);
  const seen = new Map<string, string>();
  for (const [source, target] of map) {
    const other = seen.get(target);
    if (other !== undefined) {
      throw new UsageError(`--shard-map maps both ${other} and ${source} onto ${target}`, { hint: 'give each source shard a target shard of its own' });
    }
    seen.set(target, source);
  }
  return map;
}

/** A complete example map: same names where the target has them, the other targets in order. */
function suggestion(sourceShards: readonly string[], targetShards: readonly string[]): string {
  const free = targetShards.filter((name) => !sourceShards.includes(name));
  return sourceShards.map((name) => `${name}=${targetShards.includes(name) ? name : (free.shift() ?? '?')}`).join(',');
}
