// What a suite that backs up a real server sets up and tears down: a dedicated MongoDB-wire
// server, a client and a source connection on it, and, given a store kind, a fresh store with
// the CLI flags that reach it. Registered as before/after hooks of the current suite, so they run
// before the suite's own; read through getters inside the suite's hooks and tests.
import { before, after } from 'node:test';
import { MongoClient } from 'mongodb';
import { connectSource, type Source } from '../../src/source/connect-source.ts';
import type { Store } from '../../src/store/store.ts';
import { dedicatedMongo, type DedicatedMongo } from './dedicated-mongo.ts';
import type { StoreKind } from './stores.ts';

export interface BackupSuite {
  readonly mongo: DedicatedMongo;
  readonly client: MongoClient;
  readonly source: Source;
}

export interface BackupSuiteWithStore extends BackupSuite {
  readonly store: Store;
  /** The flags and environment that reach `store` from the CLI. */
  readonly cli: { readonly cliArgs: string[]; readonly env: NodeJS.ProcessEnv };
}

export function useBackupSuite(): BackupSuite;
export function useBackupSuite(kind: StoreKind): BackupSuiteWithStore;
export function useBackupSuite(kind?: StoreKind): BackupSuite | BackupSuiteWithStore {
  let mongo: DedicatedMongo | undefined;
  let client: MongoClient | undefined;
  let source: Source | undefined;
  let opened: Awaited<ReturnType<StoreKind['open']>> | undefined;
  before(async () => {
    mongo = await dedicatedMongo();
    client = new MongoClient(mongo.uri);
    await client.connect();
    source = await connectSource(mongo.uri);
    opened = await kind?.open();
  });
  after(async () => {
    await opened?.store.close();
    await source?.client.close();
    await client?.close();
    await mongo?.stop();
  });
  const need = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('useBackupSuite: used outside its suite, or without a store kind');
    return value;
  };
  return {
    get mongo() { return need(mongo); },
    get client() { return need(client); },
    get source() { return need(source); },
    get store() { return need(opened).store; },
    get cli() { return need(opened); },
  };
}
