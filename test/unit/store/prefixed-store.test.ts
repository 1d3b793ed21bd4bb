// A member's store inside a cluster store: keys under its prefix, listings without it, each
// member's manifest.json its own object (so member commits never contend), and the retrying
// store's capability (the public-access check) forwarded with the prefixed key.
import assert from 'node:assert/strict';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FolderStore } from '../../../src/store/folder-store.ts';
import { PrefixedStore } from '../../../src/store/prefixed-store.ts';
import { hasPublicAccessCheck } from '../../../src/store/public-access-check.ts';
import type { ObjectInfo, Store } from '../../../src/store/store.ts';

async function keys(listing: AsyncIterable<ObjectInfo>): Promise<string[]> {
  const out: string[] = [];
  for await (const info of listing) out.push(info.key);
  return out;
}

test('keys live under the prefix and come back without it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'prefixed-'));
  const root = new FolderStore(dir);
  await root.check();
  const a = new PrefixedStore(root, 'members/s1');
  const b = new PrefixedStore(root, 'members/s2/');
  await a.putIfMatch('manifest.json', Buffer.from('a'), null);
  // The same key in another member is another object: no precondition failure.
  await b.putIfMatch('manifest.json', Buffer.from('b'), null);
  await a.put('chunks/x/1.bson.gz', Buffer.from('1'));
  assert.deepEqual(await readdir(join(dir, 'members')), ['s1', 's2']);
  assert.deepEqual(await keys(a.list('')), ['chunks/x/1.bson.gz', 'manifest.json']);
  assert.deepEqual(await keys(b.list('chunks/')), []);
  assert.equal((await a.stat('manifest.json'))?.key, 'manifest.json');
  assert.equal(a.url, `${root.url}/members/s1`);
  await a.delete('chunks/x/1.bson.gz');
  assert.equal(await root.stat('members/s1/chunks/x/1.bson.gz'), null);
});

test('the public-access check is forwarded with the prefixed key', async () => {
  const asked: string[] = [];
  const inner = { url: 's3://b/p', publicAccessWarnings: async (key: string) => (asked.push(key), ['open']) } as unknown as Store;
  const member = new PrefixedStore(inner, 'members/s1/');
  assert.ok(hasPublicAccessCheck(member));
  assert.deepEqual(await member.publicAccessWarnings('manifest.json'), ['open']);
  assert.deepEqual(asked, ['members/s1/manifest.json']);
});
