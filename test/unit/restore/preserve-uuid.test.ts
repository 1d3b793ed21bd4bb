// When a restore creates collections with their source UUIDs (restore/preserve-uuid.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from '../../../src/errors.ts';
import { checkPreserveUuidOptions, decidePreserveUuid, refuseUuidCollisions, uuidCollisions } from '../../../src/restore/preserve-uuid.ts';

test('--preserve-uuid: kept with --drop on a target with applyOps', () => {
  assert.equal(decidePreserveUuid('required', { drop: true, renamed: false, applyMode: 'applyOps' }), true);
});

test('--preserve-uuid without --drop is a usage error before the target is opened', () => {
  assert.throws(() => checkPreserveUuidOptions('required', { drop: false, renamed: false }), (error: unknown) => error instanceof UsageError && /needs --drop/.test(error.message));
});

test('--preserve-uuid with --nsFrom/--nsTo is a usage error', () => {
  assert.throws(() => checkPreserveUuidOptions('required', { drop: true, renamed: true }), (error: unknown) => error instanceof UsageError && /nsFrom/.test(error.message));
});

test('--preserve-uuid on a target without applyOps (FerretDB: the portable applier) is a usage error, exit code 2', () => {
  assert.throws(() => decidePreserveUuid('required', { drop: true, renamed: false, applyMode: 'portable' }), (error: unknown) => error instanceof UsageError && error.exitCode === 2 && /applyOps/.test(error.message));
});

test('a cluster member (if-supported): kept where possible, silently not otherwise', () => {
  assert.equal(decidePreserveUuid('if-supported', { drop: true, renamed: false, applyMode: 'applyOps' }), true);
  assert.equal(decidePreserveUuid('if-supported', { drop: true, renamed: false, applyMode: 'portable' }), false);
  assert.equal(decidePreserveUuid('if-supported', { drop: false, renamed: false, applyMode: 'applyOps' }), false);
});

test('not asked: never', () => {
  assert.equal(decidePreserveUuid(undefined, { drop: true, renamed: false, applyMode: 'applyOps' }), false);
});

test('a source UUID held by a target collection of another name is a collision (the server would rename it into place); the same name is not', () => {
  const existing = new Map([['aaaa', 'app.renamed'], ['bbbb', 'app.kept']]);
  const planned = [{ ns: 'app.orders', uuid: 'AAAA' }, { ns: 'app.kept', uuid: 'bbbb' }, { ns: 'app.view', uuid: null }, { ns: 'app.new', uuid: 'cccc' }];
  assert.deepEqual(uuidCollisions(planned, existing), [{ ns: 'app.orders', uuid: 'AAAA', holder: 'app.renamed' }]);
});

test('collisions refuse the restore in one line naming the holder', () => {
  assert.doesNotThrow(() => refuseUuidCollisions([]));
  assert.throws(
    () => refuseUuidCollisions([{ ns: 'app.orders', uuid: 'aaaa', holder: 'app.renamed' }, { ns: 'app.x', uuid: 'cccc', holder: 'app.y' }]),
    (error: unknown) => error instanceof UsageError && error.message === "--preserve-uuid: the target's app.renamed already has the source UUID aaaa of app.orders (and 1 more); creating app.orders with it would move that collection",
  );
});
