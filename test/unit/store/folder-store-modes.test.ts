// The folder store keeps backups private whatever the umask: every folder it makes is 0700 and
// every file 0600 (objects, the manifest written by putIfMatch, its versions and temporary files),
// and a store folder that other accounts can read gets a warning naming the path and the fix.
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { FolderStore } from '../../../src/store/folder-store.ts';
import { modeReport } from '../../support/file-modes.ts';

describe('folder store modes', () => {
  let dir: string;
  let umask: number;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mongo-pitr-modes-'));
    // The most permissive umask: anything not asked private comes out 0777/0666.
    umask = process.umask(0);
  });
  after(async () => {
    process.umask(umask);
    await rm(dir, { recursive: true, force: true });
  });

  test('a new store, its objects, manifest and its versions are 0700 folders and 0600 files under umask 000', async () => {
    const root = join(dir, 'parent', 'store');
    const store = new FolderStore(root);
    await store.check();
    await store.put('bases/0001/db/coll.bson.gz', Buffer.from('documents'));
    await store.put('chunks/0001/0002.bson.gz', Readable.from([Buffer.from('oplog')]));
    const created = await store.putIfMatch('manifest.json', Buffer.from('{}'), null);
    // A replacement, so that the versions folder and its files are among those checked.
    await store.putIfMatch('manifest.json', Buffer.from('{"n":1}'), created.etag);
    const report = modeReport(join(dir, 'parent'));
    assert.deepEqual(report.wrong, []);
    assert.ok(report.entries >= 12, 'the walk saw the objects, the manifest and its versions');
  });

  test('check warns, naming the folder and the fix, when the store folder is open to others', async () => {
    const root = join(dir, 'loose');
    const warnings: string[] = [];
    const store = new FolderStore(root, { onWarning: (message) => warnings.push(message) });
    await store.check();
    assert.deepEqual(warnings, [], 'a store made private is not warned about');
    await chmod(root, 0o755);
    await store.check();
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? '', new RegExp(`${root}.*0755.*chmod -R go-rwx ${root}`));
  });
});
