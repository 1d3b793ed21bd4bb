// The dump bar's totals: documents against the source's estimate, never ending before the last
// collection is stored when the estimate falls short; collections when there is no estimate.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CollectionEntry } from '../../../src/archive/manifest.ts';
import { dumpProgress } from '../../../src/cli/dump-progress.ts';
import type { Log } from '../../../src/log.ts';

function recorder(): { log: Log; calls: [number, number | undefined, string | undefined][] } {
  const calls: [number, number | undefined, string | undefined][] = [];
  const log: Log = { event: () => undefined, status: () => undefined, warn: () => undefined, settle: () => undefined, progress: (_stage, done, total, unit) => void calls.push([done, total, unit]) };
  return { log, calls };
}

const entry = (docs: number): CollectionEntry => ({ db: 'd', coll: 'c', type: 'collection', docs, data: null, metadata: { key: 'k', rawBytes: 1, storedBytes: 1, sha256: 's' } });

test('documents against the estimate; an estimate that falls short waits at total - 1 until the last collection', () => {
  const { log, calls } = recorder();
  const progress = dumpProgress(log);
  progress.plan({ collections: 2, estimatedDocuments: 3 });
  for (let n = 0; n < 3; n++) progress.document();
  assert.deepEqual(calls.at(-1), [3, 4, 'documents, 0/2 collections'], 'all estimated documents read, a collection still open: not finished');
  progress.collection(entry(3));
  progress.document();
  progress.document();
  assert.deepEqual(calls.at(-1), [5, 6, 'documents, 1/2 collections']);
  progress.collection(entry(2));
  assert.deepEqual(calls.at(-1), [5, 5, 'documents, 2/2 collections'], 'finished when the last collection is stored');
});

test('no estimate: collections against the count to dump', () => {
  const { log, calls } = recorder();
  const progress = dumpProgress(log);
  progress.stage('dump', 2);
  progress.plan({ collections: 2, estimatedDocuments: null });
  progress.collection(entry(1));
  assert.deepEqual(calls.at(-1), [1, 2, 'collections, 1 document']);
});
