// Under the most permissive umask (000), everything a backup, a restore and an export create on
// the local disk is private: folders 0700, files 0600. The restore's download folder is walked
// while it exists: synchronously inside the 'verified' stage hook, after every object is down.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { backupBase, backupOplog } from '../../src/backup/run-due.ts';
import { exportDump } from '../../src/interop/export-dump.ts';
import { restore } from '../../src/restore/restore.ts';
import { FolderStore } from '../../src/store/folder-store.ts';
import { useBackupSuite } from '../support/backup-suite.ts';
import { modeReport, type ModeReport } from '../support/file-modes.ts';
import { NO_MONGO, uniqueName } from '../support/test-env.ts';

describe('private on disk', { skip: NO_MONGO }, () => {
  const suite = useBackupSuite();
  let dir: string;
  let umask: number;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mongo-pitr-private-'));
    umask = process.umask(0);
  });
  after(async () => {
    process.umask(umask);
    await rm(dir, { recursive: true, force: true });
  });

  test('backup, restore downloads and export create only 0700 folders and 0600 files under umask 000', async () => {
    const db = uniqueName('private');
    const orders = suite.client.db(db).collection<{ _id: number; qty: number }>('orders');
    await orders.insertMany(Array.from({ length: 50 }, (_, n) => ({ _id: n, qty: n })));
    const root = join(dir, 'store');
    const store = new FolderStore(root);
    await store.check();
    await backupBase({ source: suite.source, store });
    await orders.updateMany({}, { $inc: { qty: 1 } });
    await backupOplog({ source: suite.source, store });

    // The restore makes its own folder inside workDir; the walk starts at the folder we made.
    const workDir = await mkdtemp(join(dir, 'work-'));
    let downloads: ModeReport | undefined;
    const target = uniqueName('private_restored');
    await restore({
      store,
      targetUri: suite.mongo.uri,
      workDir,
      namespaces: { include: [`${db}.*`], from: [`${db}.*`], to: [`${target}.*`] },
      onStage: (stage) => {
        if (stage === 'verified') downloads = modeReport(workDir);
      },
    });
    assert.ok(downloads, 'the verified stage was reached');
    assert.deepEqual(downloads.wrong, []);
    assert.ok(downloads.entries > 5, `the download folder held the objects (${downloads.entries} entries)`);
    assert.equal(await suite.client.db(target).collection('orders').countDocuments(), 50);

    const exported = join(dir, 'export', 'dump');
    await exportDump({ store, dir: exported });

    const stored = modeReport(root);
    assert.deepEqual(stored.wrong, []);
    assert.ok(stored.entries > 8);
    const exportReport = modeReport(join(dir, 'export'));
    assert.deepEqual(exportReport.wrong, []);
    assert.ok(exportReport.entries > 3);
    assert.deepEqual(await readdir(workDir), [], 'the restore removed its download folder');
  });
});
