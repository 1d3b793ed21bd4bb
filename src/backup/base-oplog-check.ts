// Base oplog validation: does replaying the base oplog [T0, T1] over the dump give the state at
// T1? Not when a command in it moved documents into a collection without logging them:
// - renameCollection (repl/op_observer_impl.cpp preRenameCollection writes
//   {op:'c', ns:'<db>.$cmd', ui, o:{renameCollection:'<db>.<from>', to:'<db>.<to>', stayTemp,
//   dropTarget?:<uuid>}, o2?:{numRecords}}) moves every document `from` held. If `from` existed
//   before T0 its earlier documents are in no oplog entry we have, and the dump may have read
//   `from` after the rename (empty) or `to` before it: the replayed rename leaves `to` with only
//   the later writes (or drops the dumped `to` with dropTarget). This is the everyday
//   `$out` (an aggregation that started before T0 renames its tmp.agg_out.* collection over the
//   target during the dump) and resharding's final rename of system.resharding.<uuid>.
//   A rename whose source was created inside the window is safe: its create and every insert are
//   in the base oplog. A rename across databases is logged that way (rename_collection.cpp
//   renameBetweenDBs: create a tmp collection in the target database, insert the documents,
//   rename it within that database, drop the source), so it passes when it started after T0.
// - importCollection (onImportCollection: {importCollection, importUUID, numRecords, dataSize,
//   catalogEntry, storageMetadata, dryRun}) attaches data files: its documents are never logged.
// - upgradeDowngradeViewlessTimeseries (9.0 setFCV) rewrites a time-series collection.
// mongodump refuses all of these (mongo-tools mongodump/oplog_dump.go oplogDocumentValidator:
// "cannot dump with oplog while renames occur"); mongo-pitr refuses only the unsafe ones, and the
// base is taken again from a T0 after them (take-base.ts).
// FerretDB logs no commands, so this check never fires against it: the unit tests feed the
// shapes above. Pure: fed decoded command entries in oplog order; holds the names created in the
// window.
import { Timestamp, type Document } from 'mongodb';
import { SourceError } from '../errors.ts';
import { formatTs, tsFromBson, type Ts } from '../timestamp.ts';

export interface BaseOplogProblem {
  readonly ts: Ts | null;
  readonly command: string;
  /** Namespaces whose dumped documents the replay cannot make right. */
  readonly namespaces: readonly string[];
  readonly reason: string;
}

export class BaseOplogCheck {
  /** Namespaces created in the window (and what they were renamed to): all their documents are logged. */
  readonly #bornInWindow = new Set<string>();
  readonly #problems: BaseOplogProblem[] = [];

  get problems(): readonly BaseOplogProblem[] {
    return this.#problems;
  }

  /** One decoded oplog entry; only commands (op 'c') matter, applyOps included. */
  observe(entry: Document): void {
    if (entry.op !== 'c' || typeof entry.ns !== 'string') return;
    const ts = entry.ts instanceof Timestamp ? tsFromBson(entry.ts) : null;
    this.#command(ts, entry.ns.slice(0, entry.ns.indexOf('.')), (entry.o ?? {}) as Document);
  }

  #command(ts: Ts | null, db: string, o: Document): void {
    if (typeof o.create === 'string') this.#bornInWindow.add(`${db}.${o.create}`);
    else if (typeof o.drop === 'string') this.#bornInWindow.delete(`${db}.${o.drop}`);
    else if (typeof o.renameCollection === 'string' && typeof o.to === 'string') this.#rename(ts, o.renameCollection, o.to);
    else if (o.importCollection !== undefined && o.dryRun !== true) {
      const name = String(o.importCollection);
      const ns = name.startsWith(`${db}.`) ? name : `${db}.${name}`;
      this.#problems.push({ ts, command: 'importCollection', namespaces: [ns], reason: `importCollection attached ${ns}'s data files: its documents are in no oplog entry` });
    } else if (o.upgradeDowngradeViewlessTimeseries !== undefined) {
      this.#problems.push({ ts, command: 'upgradeDowngradeViewlessTimeseries', namespaces: [`${db}.${String(o.upgradeDowngradeViewlessTimeseries)}`], reason: 'a setFCV rewrote a time-series collection without logging its documents' });
    } else if (Array.isArray(o.applyOps)) {
      for (const inner of o.applyOps as Document[]) {
        if (inner?.op === 'c' && typeof inner.ns === 'string') this.#command(ts, inner.ns.slice(0, inner.ns.indexOf('.')), (inner.o ?? {}) as Document);
      }
    }
  }

  #rename(ts: Ts | null, from: string, to: string): void {
    // Resharding's temporary collection is filled by the recipient's cloner before T0 as a rule;
    // mongodump refuses resharding outright.
    const resharding = from.slice(from.indexOf('.') + 1).startsWith('system.resharding.');
    if (this.#bornInWindow.has(from) && !resharding) {
      this.#bornInWindow.delete(from);
      this.#bornInWindow.add(to);
      return;
    }
    this.#bornInWindow.delete(to);
    this.#problems.push({
      ts,
      command: 'renameCollection',
      namespaces: [from, to],
      reason: `renameCollection moved ${from}, which held documents before T0, onto ${to}: those documents are in no oplog entry of the base`,
    });
  }
}

/** The base oplog cannot be replayed over the dump: the base is taken again from a later T0. */
export class UnsafeBaseOplog extends SourceError {
  readonly problems: readonly BaseOplogProblem[];

  constructor(problems: readonly BaseOplogProblem[]) {
    const list = problems.map((p) => `${p.command} at ${p.ts ? formatTs(p.ts) : '?'}: ${p.reason}`).join('; ');
    super(`the base oplog holds DDL that moved documents it does not contain (${list})`, {
      hint: 'pause what renames or imports collections ($out aggregations, renameCollection, importCollection, resharding) while the base is taken, then run the backup again',
    });
    this.problems = problems;
  }
}
