// Which target shard each source shard's data goes to on restore. Pure.
import { InternalStub } from './stub.ts';

/** Source shard name → target shard name; every source shard mapped, no two onto one target. */
export type ShardMap = ReadonlyMap<string, string>;

/** `--shard-map a=x,b=y` as pairs, unchecked against any cluster (UsageError on bad syntax). */
export function parseShardMapOption(text: string): Map<string, string> {
  void text;
  throw new InternalStub('parseShardMapOption');
}

/**
 * The map a restore uses: the option's when given, else by name (the target has every source
 * shard's name). UsageError naming the fix when a source shard is unmapped, two map onto one
 * target, a target does not exist, or the target has fewer shards than the source.
 */
export function resolveShardMap(sourceShards: readonly string[], targetShards: readonly string[], option?: string): ShardMap {
  void sourceShards; void targetShards; void option;
  throw new InternalStub('resolveShardMap');
}
