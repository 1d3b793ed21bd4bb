// The manifest's only writer on the default (folder) store, with one run paused at the moment it
// publishes its commit while another run commits: the paused run must end with ConflictError and
// the other run's commit must stay in the manifest; a run started afterwards builds on both.
// (The store-level race, with a real stopped process, is test/unit/store/folder-store-cas.test.ts.)
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Manifest } from '../../../src/archive/manifest.ts';
import { ManifestCommitter, readHead } from '../../../src/backup/commit.ts';
import { ConflictError } from '../../../src/errors.ts';
import { FolderStore } from '../../../src/store/folder-store.ts';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'commit-paused-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A recognisable, minimal update: one pending base named `id`. */
const addPending = (id: string) => (manifest: Manifest): Manifest => ({
  ...manifest,
  pendingBases: [...(manifest.pendingBases ?? []), { id, source: { setName: 'rs0', replicaSetId: null }, startTs: { t: 1, i: 1 }, startedAt: '2026-01-01T00:00:00.000Z', collections: [] }],
});

test('a run paused while publishing its commit gets ConflictError, and the commit made meanwhile stays', async () => {
  const root = join(dir, 'store');
  await (await ManifestCommitter.open(new FolderStore(root))).commit(addPending('first'));
  let reached = () => {};
  let resume = () => {};
  const atPublish = new Promise<void>((resolve) => (reached = resolve));
  const pausedStore = new FolderStore(root, {
    beforePublish: () => {
      reached();
      return new Promise<void>((resolve) => (resume = resolve));
    },
  });
  const paused = await ManifestCommitter.open(pausedStore);
  const other = await ManifestCommitter.open(new FolderStore(root));
  const pausedCommit = paused.commit(addPending('paused'));
  pausedCommit.catch(() => {}); // asserted below
  await atPublish;
  await other.commit(addPending('other'));
  resume();
  await assert.rejects(pausedCommit, ConflictError);
  const ids = async () => ((await readHead(new FolderStore(root))).manifest.pendingBases ?? []).map((pending) => pending.id);
  assert.deepEqual(await ids(), ['first', 'other']);
  // The next run reads the manifest again and continues from it.
  await (await ManifestCommitter.open(new FolderStore(root))).commit(addPending('next'));
  assert.deepEqual(await ids(), ['first', 'other', 'next']);
});
