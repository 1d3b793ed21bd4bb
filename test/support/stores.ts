// The two store implementations, each fresh: a temporary folder, and a random prefix in the
// test bucket on MinIO. Integration suites run once per entry.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/store/open-store.ts';
import type { Store } from '../../src/store/store.ts';
import { NO_S3, testS3, uniqueName } from './test-env.ts';

export interface StoreKind {
  readonly name: 'folder' | 's3';
  readonly skip: string | false;
  /** A new, empty store and the URL and flags that reach it from the CLI. */
  open(): Promise<{ store: Store; url: string; cliArgs: string[]; env: NodeJS.ProcessEnv }>;
}

export const STORE_KINDS: readonly StoreKind[] = [
  {
    name: 'folder',
    skip: false,
    async open() {
      const dir = await mkdtemp(join(tmpdir(), 'mongo-pitr-store-'));
      const store = await openStore(dir);
      await store.check();
      return { store, url: dir, cliArgs: ['--store', dir], env: {} };
    },
  },
  {
    name: 's3',
    skip: NO_S3,
    async open() {
      const s3 = testS3();
      if (!s3) throw new Error('no S3');
      const url = `s3://${s3.bucket}/${uniqueName('backups')}`;
      const credentials = { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey };
      const store = await openStore(url, { endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials });
      await store.check();
      return {
        store,
        url,
        cliArgs: ['--store', url, '--endpoint', s3.endpoint, '--region', s3.region],
        env: { AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey },
      };
    },
  },
];
