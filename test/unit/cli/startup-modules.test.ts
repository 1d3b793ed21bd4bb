// What the CLI loads before it knows a command: every command's module graph, as `import` at
// start-up resolves it, must stay free of the cryptographic libraries and prom-client. They are
// heavy (age-encryption, and @aws-crypto/client-node with the AWS SDK's KMS and DynamoDB clients:
// about 40 MiB of code and heap together), and V8 grows its old generation in proportion to what
// survives a full collection, so a restore of a plain store paid for them again in garbage
// (test/bench: restore peak RSS 281 MiB at 20,000 documents with them loaded, 241 without).
// They are imported when a key is named, an encrypted object is read (crypt/encryption-modes.ts)
// or --metrics-addr is given (cli/metrics.ts); the crypt and metrics tests cover those paths.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const PROGRAM = new URL('../../../src/cli/program.ts', import.meta.url).href;
const RESTORE = new URL('../../../src/restore/restore.ts', import.meta.url).href;
const DEFERRED = ['age-encryption', '@aws-crypto/client-node', '@aws-sdk/client-kms', '@aws-sdk/client-dynamodb', 'prom-client', '@aws-sdk/client-s3'];

/** The packages under node_modules that importing `urls` loads, in a fresh process. */
function packagesLoadedBy(urls: readonly string[]): string[] {
  const script = `
    import { registerHooks } from 'node:module';
    const seen = new Set();
    registerHooks({ load(url, context, next) { const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(url); if (m) seen.add(m[1]); return next(url, context); } });
    for (const url of ${JSON.stringify(urls)}) await import(url);
    process.stdout.write(JSON.stringify([...seen]));
  `;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: fileURLToPath(new URL('../../../', import.meta.url)), encoding: 'utf8' });
  return JSON.parse(out) as string[];
}

test('the CLI and the restore use case load no cipher library, no KMS client and no prom-client at start-up', () => {
  const loaded = packagesLoadedBy([PROGRAM, RESTORE]);
  // The probe works: the driver is loaded by both.
  assert.ok(loaded.includes('mongodb'), `expected the driver among ${loaded.join(', ')}`);
  assert.deepEqual(DEFERRED.filter((name) => loaded.includes(name)), []);
});

test('a key module still loads its library when it is imported', () => {
  const loaded = packagesLoadedBy([new URL('../../../src/crypt/kms-cipher.ts', import.meta.url).href, new URL('../../../src/crypt/age-cipher.ts', import.meta.url).href]);
  assert.ok(loaded.includes('@aws-crypto/client-node') && loaded.includes('age-encryption'), loaded.join(', '));
});
