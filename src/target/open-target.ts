// Connecting to the restore target and choosing how to apply: the server's `applyOps` where it
// has one (real MongoDB), the portable applier otherwise (FerretDB, DocumentDB, shared tiers).
import { MongoClient, MongoServerError } from 'mongodb';
import { TargetError, UsageError } from '../errors.ts';
import { redactUri } from '../redact.ts';
import type { Applier } from './applier.ts';
import { ApplyOpsApplier } from './applyops-applier.ts';
import { PortableApplier } from './portable-applier.ts';

export type ApplyMode = 'auto' | 'applyOps' | 'portable';
export const APPLY_MODES: readonly ApplyMode[] = ['auto', 'applyOps', 'portable'];

export interface Target {
  readonly client: MongoClient;
  readonly uri: string;
  readonly applier: Applier;
}

export async function openTarget(uri: string, mode: ApplyMode = 'auto'): Promise<Target> {
  if (!/^mongodb(\+srv)?:\/\//.test(uri)) {
    throw new UsageError(`target URI must start with mongodb:// or mongodb+srv:// (got ${redactUri(uri)})`);
  }
  const safeUri = redactUri(uri);
  let client: MongoClient;
  try {
    client = new MongoClient(uri, { serverSelectionTimeoutMS: 10_000, appName: 'mongo-pitr' });
  } catch (error) {
    throw new UsageError(`invalid target URI ${safeUri}: ${(error as Error).message}`, { cause: error });
  }
  try {
    await client.connect();
    await client.db('admin').command({ ping: 1 });
  } catch (error) {
    await client.close().catch(() => undefined);
    throw new TargetError(`cannot reach the target ${safeUri}: ${(error as Error).message.split('\n')[0]}`, { cause: error });
  }
  const useApplyOps = mode === 'applyOps' || (mode === 'auto' && (await hasApplyOps(client)));
  const applier: Applier = useApplyOps ? new ApplyOpsApplier(client) : new PortableApplier(client);
  return { client, uri: safeUri, applier };
}

/** An empty applyOps is accepted by servers that implement it and refused by others. */
async function hasApplyOps(client: MongoClient): Promise<boolean> {
  try {
    await client.db('admin').command({ applyOps: [] });
    return true;
  } catch (error) {
    if (error instanceof MongoServerError) return false;
    throw error;
  }
}
