// The namespaces whose writes replay must keep in one lane, in oplog order, rather than spread
// over lanes by document:
//   - a collection with a non-simple default collation: its `_id` index compares strings under
//     that collation ("a" and "A" are one `_id` at strength 2), so two entries whose `_id`s
//     differ to us may touch one document;
//   - a capped collection: insertion order decides which documents the server evicts, so
//     inserts to different documents must not be reordered.
// Known from the base's collection metadata, from the target's collections (a raw oplog
// replay), and from the commands met during replay (create, convertToCapped, renameCollection),
// in target namespaces. Marks only accumulate: a namespace once serial stays serial, which
// costs parallelism and never correctness (a dropped capped collection re-created plain, or a
// base taken after a change, cannot route a write of the old shape to the wrong lane).
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import type { Document, MongoClient } from 'mongodb';
import { parseMetadata } from '../archive/collection-metadata.ts';
import type { Base } from '../archive/manifest.ts';
import { joinNs, splitNs } from '../namespace.ts';
import type { OplogEntry } from '../oplog-entry.ts';
import type { NamespaceMapper } from './namespace-mapper.ts';

/** Why a namespace is serial, for receipts and tests. */
export type SerialReason = 'capped' | 'collation';

export class SerialNamespaces {
  readonly #reasons = new Map<string, SerialReason>();

  /** True when every write to `ns` must go to one lane, in order. */
  has(ns: string): boolean {
    return this.#reasons.has(ns);
  }

  reason(ns: string): SerialReason | undefined {
    return this.#reasons.get(ns);
  }

  /** Records a collection's options (create options, listCollections or metadata `options`). */
  noteOptions(ns: string, options: Document | undefined): void {
    const reason = serialReason(options);
    if (reason) this.#reasons.set(ns, reason);
  }

  /**
   * Follows a command entry already mapped to target namespaces: create and convertToCapped
   * mark, renameCollection carries the mark to its new name. Other commands change neither the
   * default collation nor cappedness.
   */
  noteCommand(entry: OplogEntry): void {
    if (entry.op !== 'c') return;
    const o = entry.o;
    const { db } = splitNs(entry.ns);
    if (typeof o.create === 'string') this.noteOptions(joinNs(db, o.create), o);
    else if (typeof o.convertToCapped === 'string') this.#reasons.set(joinNs(db, o.convertToCapped), 'capped');
    else if (typeof o.renameCollection === 'string' && typeof o.to === 'string') {
      const reason = this.#reasons.get(o.renameCollection);
      if (reason) this.#reasons.set(o.to, reason);
    }
  }
}

/** `capped` or a default collation other than simple make a collection serial. */
export function serialReason(options: Document | undefined): SerialReason | undefined {
  if (!options) return undefined;
  if (options.capped === true) return 'capped';
  const collation = options.collation as Document | undefined;
  if (collation && typeof collation === 'object' && collation.locale !== 'simple') return 'collation';
  return undefined;
}

/** Marks from the base's metadata files (local copies, by object key), in target namespaces. */
export async function serialNamespacesOfBase(
  base: Base,
  files: ReadonlyMap<string, string>,
  namespaces: NamespaceMapper,
  serial = new SerialNamespaces(),
): Promise<SerialNamespaces> {
  for (const entry of base.collections) {
    if (entry.type === 'view') continue;
    const target = namespaces.map(joinNs(entry.db, entry.coll));
    const file = files.get(entry.metadata.key);
    if (target === undefined || file === undefined) continue;
    // Metadata files are a few KiB: options and index specs.
    serial.noteOptions(target, parseMetadata(gunzipSync(await readFile(file)), entry.coll).options);
  }
  return serial;
}

/** Marks from the collections already on the target (a raw oplog replayed onto a restore). */
export async function serialNamespacesOfTarget(client: MongoClient, serial = new SerialNamespaces()): Promise<SerialNamespaces> {
  const { databases } = await client.db('admin').admin().listDatabases({ nameOnly: true });
  for (const { name } of databases) {
    const collections = await client.db(name).listCollections({}, { nameOnly: false }).toArray();
    for (const info of collections) serial.noteOptions(joinNs(name, info.name), (info as Document).options as Document | undefined);
  }
  return serial;
}
