// The workload the fault suite and the figures script (faults-figures.ts) run through the fault
// proxy: the real CLI as a child process, a source database that changes between runs, and
// restores compared document by document with the source. Every run is recorded with its exit
// code, the store retries it logged, and whether its stderr holds a stack trace.
import assert from 'node:assert/strict';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient, type Document } from 'mongodb';
import { finished, spawnCli } from '../support/cli.ts';
import type { TestS3 } from '../support/test-env.ts';
import type { FaultProxy } from './fault-proxy.ts';

export interface RunRecord {
  readonly command: string;
  readonly code: number | null;
  readonly retries: number;
  /** A Node stack trace on stderr ("    at ..."), which no store fault may produce. */
  readonly stack: boolean;
  /** The error event of a failed run (--json), if any. */
  readonly error: { code?: string; exitCode?: number; message?: string } | null;
  readonly stderr: string;
}

export interface RestoreRecord extends RunRecord {
  /** Equal to the source, document by document; null when the restore failed. */
  readonly equal: boolean | null;
  /** The target database had no collections after a failed restore. */
  readonly targetUntouched: boolean | null;
  /** No mongo-pitr-restore-* folder was left in the run's temporary directory. */
  readonly tempRemoved: boolean;
}

export class FaultWorkload {
  readonly #client: MongoClient;
  readonly #uri: string;
  readonly #cliArgs: string[];
  readonly #env: NodeJS.ProcessEnv;
  readonly db: string;
  #nextId = 0;
  readonly runs: RunRecord[] = [];
  /** Every _id inserted into `orders`, in order: what the archive must hold. */
  readonly insertedOrders: number[] = [];

  constructor(options: { mongoUri: string; s3: TestS3; proxy: FaultProxy; db: string; prefix: string; env?: NodeJS.ProcessEnv }) {
    this.#uri = options.mongoUri;
    this.#client = new MongoClient(options.mongoUri);
    this.db = options.db;
    this.#cliArgs = ['--json', '--store', `s3://${options.s3.bucket}/${options.prefix}`, '--endpoint', options.proxy.endpoint, '--region', options.s3.region];
    this.#env = { AWS_ACCESS_KEY_ID: options.s3.accessKeyId, AWS_SECRET_ACCESS_KEY: options.s3.secretAccessKey, MONGO_PITR_DEBUG: '', ...options.env };
  }

  async close(): Promise<void> {
    await this.#client.close();
  }

  /** Inserts, updates and deletes in three collections: the oplog the next run archives. */
  async write(inserts = 20): Promise<void> {
    for (const name of ['orders', 'users', 'events']) {
      const collection = this.#client.db(this.db).collection<{ _id: number; name: string; qty: number }>(name);
      const first = this.#nextId;
      await collection.insertMany(Array.from({ length: inserts }, (_, n) => ({ _id: first + n, name: `${name} ${first + n}`, qty: n })));
      if (name === 'orders') this.insertedOrders.push(...Array.from({ length: inserts }, (_, n) => first + n));
      await collection.updateMany({ qty: { $lt: 3 } }, { $inc: { qty: 100 } });
      await collection.deleteOne({ _id: first });
    }
    this.#nextId += inserts;
  }

  async run(command: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<RunRecord> {
    const result = await finished(spawnCli([...this.#cliArgs, command, ...args], { ...this.#env, ...env }));
    const events = result.stderr.split('\n').flatMap((line) => {
      if (!line.startsWith('{')) return [];
      try {
        return [JSON.parse(line) as { type?: string; code?: string; exitCode?: number; message?: string }];
      } catch {
        return [];
      }
    });
    const record: RunRecord = {
      command,
      code: result.code,
      retries: events.filter((event) => event.type === 'store.retry').length,
      stack: /\n\s+at .+\(?.*:\d+:\d+\)?/.test(result.stderr),
      error: events.find((event) => event.type === 'error') ?? null,
      stderr: result.stderr,
    };
    this.runs.push(record);
    return record;
  }

  backup(env: NodeJS.ProcessEnv = {}): Promise<RunRecord> {
    return this.run('backup', ['--uri', this.#uri], env);
  }

  oplog(env: NodeJS.ProcessEnv = {}): Promise<RunRecord> {
    return this.run('oplog', ['--uri', this.#uri], env);
  }

  /** Restores the whole window into a new database and compares it with the source now. */
  async restore(target: string, env: NodeJS.ProcessEnv = {}): Promise<RestoreRecord> {
    const temp = await mkdtemp(join(tmpdir(), 'fault-restore-tmp-'));
    const record = await this.run('restore', ['--to', this.#uri, '--nsInclude', `${this.db}.*`, '--nsFrom', `${this.db}.*`, '--nsTo', `${target}.*`], {
      TMPDIR: temp,
      ...env,
    });
    const tempRemoved = (await readdir(temp)).length === 0;
    const collections = await this.#client.db(target).listCollections().toArray();
    if (record.code !== 0) return { ...record, equal: null, targetUntouched: collections.length === 0, tempRemoved };
    const equal = isDeepEqual(await this.snapshot(target), await this.snapshot(this.db));
    return { ...record, equal, targetUntouched: null, tempRemoved };
  }

  async snapshot(db: string): Promise<Record<string, Document[]>> {
    const result: Record<string, Document[]> = {};
    for (const { name } of await this.#client.db(db).listCollections().toArray()) {
      result[name] = await this.#client.db(db).collection(name).find({}, { promoteValues: false }).sort({ _id: 1 }).toArray();
    }
    return result;
  }
}

function isDeepEqual(a: unknown, b: unknown): boolean {
  try {
    assert.deepStrictEqual(a, b);
    return true;
  } catch {
    return false;
  }
}

/** What a failed run under store faults must look like: exit 4, one error event, no stack. */
export function cleanStoreFailure(record: RunRecord): boolean {
  return record.code === 4 && record.error?.code === 'store' && !record.stack;
}
