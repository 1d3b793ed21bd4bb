// The config server member's chain keeps the sharding metadata (config.databases, collections,
// chunks, tags, shards, settings, version) and nothing else of config; a cluster restore maps it
// into a scratch database. Without the option every config namespace stays internal.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isInternalNs } from '../../../src/namespace.ts';
import { compileNamespaceMapper } from '../../../src/restore/namespace-mapper.ts';

test('config metadata is kept only when asked, and config.transactions never', () => {
  assert.equal(isInternalNs('config.chunks'), true);
  assert.equal(isInternalNs('config.chunks', { includeConfigMetadata: true }), false);
  assert.equal(isInternalNs('config.transactions', { includeConfigMetadata: true }), true);
  assert.equal(isInternalNs('config.system.sessions', { includeConfigMetadata: true }), true);
  assert.equal(isInternalNs('local.oplog.rs', { includeConfigMetadata: true }), true);
});

test('a cluster restore maps config.chunks entries into the scratch database', () => {
  const mapper = compileNamespaceMapper({ include: ['config.chunks'], from: ['config.*'], to: ['scratch.*'], includeConfigMetadata: true });
  assert.equal(mapper.map('config.chunks'), 'scratch.chunks');
  assert.equal(mapper.map('config.transactions'), undefined);
  const entry = { op: 'u', ns: 'config.chunks', o: { $v: 2, diff: { u: { shard: 's2' } } }, o2: { _id: 1 } } as never;
  const mapped = mapper.mapEntry(entry);
  assert.ok('apply' in mapped);
  assert.equal(mapped.apply[0]?.ns, 'scratch.chunks');
  assert.ok('skip' in compileNamespaceMapper({}).mapEntry(entry));
});
