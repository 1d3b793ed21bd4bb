// Shard map for a cluster restore: source shard names (config.shards _id, s/catalog/type_shard.h)
// onto target shard names.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseShardMapOption, resolveShardMap } from '../../../src/cluster/shard-map.ts';
import { UsageError } from '../../../src/errors.ts';

const usage = (message: RegExp, hint?: RegExp) => (error: unknown) =>
  error instanceof UsageError && message.test(error.message) && (hint === undefined || hint.test(error.hint ?? ''));

describe('parseShardMapOption', () => {
  it('reads source=target pairs, spaces allowed', () => {
    assert.deepEqual([...parseShardMapOption('a=x, b = y')], [['a', 'x'], ['b', 'y']]);
  });
  it('refuses bad syntax and a source mapped twice', () => {
    assert.throws(() => parseShardMapOption('a'), usage(/"a" is not source=target/, /--shard-map shard01=rs-a/));
    assert.throws(() => parseShardMapOption('a=x=y'), usage(/not source=target/));
    assert.throws(() => parseShardMapOption('a=x,a=y'), usage(/source shard a is mapped twice/));
    assert.throws(() => parseShardMapOption(' , '), usage(/empty/));
  });
});

describe('resolveShardMap', () => {
  it('maps by name when the target has every source shard', () => {
    assert.deepEqual([...resolveShardMap(['s1', 's2'], ['s2', 's1', 's3'])], [['s1', 's1'], ['s2', 's2']]);
  });
  it('asks for --shard-map, with a complete example, when names differ', () => {
    assert.throws(() => resolveShardMap(['s1', 's2'], ['s1', 'rsB']), usage(/no shard named s2 \(target shards: s1, rsB\)/, /--shard-map s1=s1,s2=rsB/));
  });
  it('uses the option when given', () => {
    assert.deepEqual([...resolveShardMap(['s1', 's2'], ['a', 'b', 'c'], 's1=c,s2=a')], [['s1', 'c'], ['s2', 'a']]);
  });
  it('refuses a target with fewer shards', () => {
    assert.throws(() => resolveShardMap(['s1', 's2', 's3'], ['a', 'b'], 's1=a,s2=b'), usage(/has 2 shard\(s\), the backup 3/, /at least as many shards/));
  });
  it('refuses an unmapped source shard, an unknown source, a missing target, two onto one', () => {
    assert.throws(() => resolveShardMap(['s1', 's2'], ['a', 'b'], 's1=a'), usage(/leaves source shard\(s\) s2 unmapped/, /s1=a,s2=/));
    assert.throws(() => resolveShardMap(['s1'], ['a'], 's1=a,s9=a'), usage(/the backup has no shard s9/));
    assert.throws(() => resolveShardMap(['s1', 's2'], ['a', 'b'], 's1=a,s2=z'), usage(/target cluster has no shard z/));
    assert.throws(() => resolveShardMap(['s1', 's2'], ['a', 'b'], 's1=a,s2=a'), usage(/maps both s1 and s2 onto a/));
  });
});
