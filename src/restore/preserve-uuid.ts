// Whether a restore creates its collections with their source UUIDs (target/create-with-uuid.ts),
// decided once the target's apply mode is known and before anything is written.
//   - 'required' (restore --preserve-uuid): the UUIDs are kept or the restore is refused. It
//     needs --drop, as mongorestore's --preserveUUID does: the server's applyOps create moves an
//     existing collection holding the UUID to the new name (createCollectionForApplyOps,
//     mongodb/mongo src/mongo/db/catalog/create_collection.cpp), and a kept target collection of
//     the same name would keep its own UUID. Renamed namespaces (--nsFrom/--nsTo) are refused:
//     a renamed copy restored beside its original on the same cluster would claim the
//     original's UUID. A target without applyOps (FerretDB, shared tiers) cannot take a UUID
//     at all (FerretDB's create ignores one).
//   - 'if-supported' (every member of a cluster restore): kept where the target can, else not;
//     cluster-restore.ts then aligns the routing metadata with the UUIDs the shards have.
import { UsageError } from '../errors.ts';

export type PreserveUuid = 'required' | 'if-supported';

export interface PreserveUuidContext {
  readonly drop: boolean;
  readonly renamed: boolean;
  /** The applier openTarget chose: applyOps only where the server has the command. */
  readonly applyMode?: 'applyOps' | 'portable';
}

/** Checks that need no target: run before anything is downloaded. */
export function checkPreserveUuidOptions(request: PreserveUuid | undefined, context: PreserveUuidContext): void {
  if (request !== 'required') return;
  if (!context.drop) throw new UsageError('--preserve-uuid needs --drop', { hint: 'a target collection kept as it is keeps its own UUID (mongorestore --preserveUUID demands --drop too)' });
  if (context.renamed) throw new UsageError('--preserve-uuid cannot be combined with --nsFrom/--nsTo', { hint: 'a renamed copy would claim the UUID of the collection it was copied from' });
}

/** Whether the base's collections are created with their source UUIDs on this target. */
export function decidePreserveUuid(request: PreserveUuid | undefined, context: PreserveUuidContext): boolean {
  if (request === undefined) return false;
  checkPreserveUuidOptions(request, context);
  const possible = context.drop && !context.renamed && context.applyMode === 'applyOps';
  if (request === 'required' && !possible) {
    throw new UsageError('--preserve-uuid needs a target with applyOps; this one has none (or --apply-mode portable was given), so it cannot create a collection with a given UUID', {
      hint: 'restore without --preserve-uuid (collections get new UUIDs)',
    });
  }
  return possible;
}

export interface UuidCollision {
  /** The namespace the restore would create with the UUID. */
  readonly ns: string;
  readonly uuid: string;
  /** The target collection that already has that UUID. */
  readonly holder: string;
}

/**
 * The collections whose source UUID a target collection of another name already has. The
 * server's applyOps create would not fail there: it renames that collection to the new name
 * (createCollectionForApplyOps, src/mongo/db/catalog/create_collection.cpp), silently moving a
 * target collection, e.g. restoring with --force onto a source that renamed a collection since
 * the base. A collection of the same name is dropped first (--drop), so it is no collision. Pure.
 */
export function uuidCollisions(planned: readonly { ns: string; uuid: string | null }[], existing: ReadonlyMap<string, string>): UuidCollision[] {
  return planned.flatMap(({ ns, uuid }) => {
    if (uuid === null) return [];
    const holder = existing.get(uuid.toLowerCase());
    return holder !== undefined && holder !== ns ? [{ ns, uuid, holder }] : [];
  });
}

export function refuseUuidCollisions(collisions: readonly UuidCollision[]): void {
  const [first] = collisions;
  if (!first) return;
  throw new UsageError(
    `--preserve-uuid: the target's ${first.holder} already has the source UUID ${first.uuid} of ${first.ns}${collisions.length > 1 ? ` (and ${collisions.length - 1} more)` : ''}; creating ${first.ns} with it would move that collection`,
    { hint: 'restore onto a target without those collections, or without --preserve-uuid' },
  );
}
