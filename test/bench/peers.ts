// The peers: mongodump and mongorestore from mongo-tools, taken from MONGODUMP_BIN and
// MONGORESTORE_BIN or the PATH, never fetched. Where one is missing or cannot run on the server
// (FerretDB has no applyOps, which --oplogReplay needs), its columns say why instead of a number.
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { runMeasured, type ChildResult } from './child.ts';

export type Tool = { readonly path: string } | { readonly unavailable: string };

export function findTool(name: 'mongodump' | 'mongorestore'): Tool {
  const envName = name === 'mongodump' ? 'MONGODUMP_BIN' : 'MONGORESTORE_BIN';
  const given = process.env[envName];
  if (given) {
    return isExecutable(given) ? { path: given } : { unavailable: `${envName}=${given} is not an executable file` };
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return { path: candidate };
  }
  return { unavailable: `no ${name} in ${envName} or PATH` };
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** A failed peer run as the reason printed in its columns. */
export function failureOf(result: ChildResult): string | undefined {
  if (result.code === 0) return undefined;
  const lines = result.stderr.trim().split('\n');
  // mongorestore ends with its document counts even when it failed: name the error, not the tally.
  const line = lines.filter((text) => /error/i.test(text)).pop() ?? lines.filter((text) => /fail/i.test(text) && !/0 document\(s\) failed/.test(text)).pop() ?? lines.pop() ?? '';
  return `failed (exit ${result.code ?? result.signal}): ${line.replace(/^\S+\s+/, '').slice(0, 100)}`;
}

const TIMEOUT_MS = 6 * 60 * 60 * 1000;

/** mongodump --archive --gzip --oplog: the whole server, consistent by the oplog written meanwhile. */
export function dumpBase(tool: string, sourceUri: string, archive: string, serverPids: readonly number[]): Promise<ChildResult> {
  return runMeasured(tool, [`--uri=${sourceUri}`, `--archive=${archive}`, '--gzip', '--oplog'], { serverPids, timeoutMs: TIMEOUT_MS });
}

/**
 * What mongodump offers for incremental oplog backups: a dump of local.oplog.rs after a
 * timestamp (the base's end), gzip'ed into an archive.
 */
export function dumpOplog(tool: string, sourceUri: string, after: { t: number; i: number }, archive: string, serverPids: readonly number[]): Promise<ChildResult> {
  const query = JSON.stringify({ ts: { $gt: { $timestamp: { t: after.t, i: after.i } } } });
  return runMeasured(tool, [`--uri=${sourceUri}`, '--db=local', '--collection=oplog.rs', `--query=${query}`, `--archive=${archive}`, '--gzip'], {
    serverPids,
    timeoutMs: TIMEOUT_MS,
  });
}

/** mongorestore --archive --gzip --oplogReplay: the base and its consistency oplog, names kept. */
export function restoreBase(tool: string, targetUri: string, archive: string, serverPids: readonly number[]): Promise<ChildResult> {
  return runMeasured(tool, [`--uri=${targetUri}`, `--archive=${archive}`, '--gzip', '--oplogReplay'], { serverPids, timeoutMs: TIMEOUT_MS });
}

/**
 * mongorestore --archive --gzip --drop without --oplogReplay: the base's documents and indexes
 * only. Measured when the server cannot replay (FerretDB has no applyOps), so the base load still
 * has a peer to compare with; the report says the consistency oplog was not replayed.
 */
export function restoreBaseOnly(tool: string, targetUri: string, archive: string, serverPids: readonly number[]): Promise<ChildResult> {
  return runMeasured(tool, [`--uri=${targetUri}`, `--archive=${archive}`, '--gzip', '--drop'], { serverPids, timeoutMs: TIMEOUT_MS });
}

/** mongorestore --oplogReplay of a plain BSON oplog file (the same entries mongo-pitr replays). */
export function replayOplog(tool: string, targetUri: string, oplogFile: string, emptyDir: string, serverPids: readonly number[]): Promise<ChildResult> {
  return runMeasured(tool, [`--uri=${targetUri}`, '--oplogReplay', `--oplogFile=${oplogFile}`, `--dir=${emptyDir}`], {
    serverPids,
    timeoutMs: TIMEOUT_MS,
  });
}
