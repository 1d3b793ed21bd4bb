// Connecting to the restore target and choosing how to apply: the server's `applyOps` where it
// has one (real MongoDB), the portable applier otherwise (FerretDB, DocumentDB, shared tiers).
import { MongoClient, MongoServerError, type Document } from 'mongodb';
import { TargetError, UsageError } from '../errors.ts';
import { redactUri } from '../redact.ts';
import type { Applier } from './applier.ts';
import { ApplyOpsApplier } from './applyops-applier.ts';
import { applyOpsCommand, type ApplyOpsDialect } from './applyops-commands.ts';
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
  let applyOps: ApplyOpsDialect | 'portable' = 'portable';
  if (mode !== 'portable') {
    try {
      applyOps = await probeApplyOps((command) => client.db('admin').command(command));
    } catch (error) {
      if (mode === 'auto') {
        await client.close().catch(() => undefined);
        throw error;
      }
      // Told to use applyOps: its commands will fail with the server's own words if they must.
      applyOps = 'current';
    }
    if (mode === 'applyOps' && applyOps === 'portable') applyOps = 'current';
  }
  const applier: Applier = applyOps === 'portable' ? new PortableApplier(client) : new ApplyOpsApplier(client, applyOps);
  return { client, uri: safeUri, applier };
}

/**
 * Asks the target, with empty applyOps commands, whether it has applyOps and which command
 * form it takes (applyops-commands.ts): first the legacy form (`alwaysUpsert: false,
 * allowAtomic: false`, what servers that still take them need to apply op by op without
 * upserting); a server
 * that refuses those options (the current one refuses `alwaysUpsert`, code 6711601) is asked
 * again with the bare command. `applyModeFromProbe` reads a refusal: only "no such command"
 * selects the portable applier.
 */
export async function probeApplyOps(run: (command: Document) => Promise<unknown>): Promise<ApplyOpsDialect | 'portable'> {
  try {
    await run(applyOpsCommand([], 'legacy'));
    return 'legacy';
  } catch (error) {
    // No such command, not allowed, or not a server answer at all: the bare command would fare no better.
    if (!(error instanceof MongoServerError) || error.code === COMMAND_NOT_FOUND || error.code === UNAUTHORIZED) {
      return applyModeFromProbe(error) === 'portable' ? 'portable' : 'legacy';
    }
  }
  try {
    await run(applyOpsCommand([], 'current'));
    return 'current';
  } catch (error) {
    return applyModeFromProbe(error) === 'portable' ? 'portable' : 'current';
  }
}

/** CommandNotFound: the server has no such command (src/mongo/base/error_codes.yml). */
const COMMAND_NOT_FOUND = 59;
/** Unauthorized (error_codes.yml): the command exists, this user may not run it. */
const UNAUTHORIZED = 13;

/**
 * The apply mode an `applyOps: []` probe's answer selects. Only "no such command" means the
 * target cannot apply oplog entries itself (FerretDB, and any server without the command), so
 * only that selects the portable applier. Any other refusal is a target to fix, not to work
 * around silently: the portable applier applies entries differently (no server-side
 * idempotency rules), so falling back would change the restore without saying so. An
 * Unauthorized answer names the privileges: the applyOps action on the cluster resource, which
 * the server checks before anything else, and, because the probe's ops list is empty, the
 * universal privileges (anyAction on anyResource) that the server demands of an empty applyOps
 * (src/mongo/db/commands/oplog_application_checks.cpp: checkAuthForCommand, and
 * validateApplyOpsCommand's kNeedsSuperuser). mongorestore --oplogReplay documents the same
 * role; replaying arbitrary oplog needs it anyway.
 */
export function applyModeFromProbe(error: unknown): 'applyOps' | 'portable' {
  if (error === undefined) return 'applyOps';
  if (!(error instanceof MongoServerError)) throw error;
  if (error.code === COMMAND_NOT_FOUND || (error.code === undefined && /no such (command|cmd)/i.test(error.message))) return 'portable';
  if (error.code === UNAUTHORIZED) {
    return refuse(
      error,
      'the target user may not run applyOps',
      'grant it the applyOps action on the cluster resource and anyAction on anyResource (the role mongorestore --oplogReplay needs; root has both), or pass --apply-mode portable',
    );
  }
  return refuse(error, 'the target refused the applyOps probe', 'fix the target, or pass --apply-mode portable to replay without applyOps');
}

function refuse(error: MongoServerError, what: string, hint: string): never {
  const code = error.codeName ? `${error.codeName} (${String(error.code)})` : `code ${String(error.code)}`;
  throw new TargetError(`${what}: ${code}: ${error.message}`, { cause: error, hint });
}
