// cluster.json: a sharded cluster's timeline, at the root of a cluster store. Every member (the
// config server replica set and each shard) keeps an ordinary replica-set store under its own
// prefix (members/<name>/, with its own manifest.json); this file only names the members and
// groups their bases into cluster bases. A replica-set chain stays a replica-set chain.
//
// Pure data and pure updates. Written by compare-and-swap after the member objects it names
// (cluster/cluster-committer.ts), the rule backup/commit.ts keeps for manifest.json.
import { IntegrityError } from '../errors.ts';
import { compareTs, type Ts } from '../timestamp.ts';
import { escapeName } from './object-keys.ts';

export const CLUSTER_MANIFEST_KEY = 'cluster.json';
/** 1: members, cluster bases, one pending cluster base. Older versions stay readable when bumped. */
export const CLUSTER_FORMAT_VERSION = 1;
export const CLUSTER_MANIFEST_KIND = 'mongo-pitr.cluster';
export const MEMBERS_PREFIX = 'members/';

export type MemberRole = 'config' | 'shard';

export interface ClusterMember {
  readonly role: MemberRole;
  /** The shard's name (config.shards _id); "config" for the config server replica set. */
  readonly name: string;
  readonly setName: string;
  /** settings.replicaSetId; null where the server has none (FerretDB). */
  readonly replicaSetId: string | null;
  /** Where its replica-set store lives in the cluster store, e.g. "members/shard01/". */
  readonly prefix: string;
  readonly firstSeenAt: string;
  /** Set when a pass no longer finds the shard in the topology: its archive stays. */
  readonly removedAt?: string;
}

/** One member's part of a cluster base: the base (its chain id) and its T1. */
export interface ClusterBaseMember {
  readonly name: string;
  readonly baseId: string;
  readonly endTs: Ts;
}

/**
 * Bases of every member taken together (balancer stopped). The cluster restores from the
 * largest member T1 on: before it, some member's base is not yet consistent.
 */
export interface ClusterBase {
  readonly id: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly members: readonly ClusterBaseMember[];
  readonly restorableFromTs: Ts;
}

/** A cluster base in progress: recorded before the first member base starts. */
export interface PendingClusterBase {
  readonly id: string;
  readonly startedAt: string;
  /** The members it must hold a base of. */
  readonly members: readonly string[];
  /** The balancer state found before it was stopped, so a resumed pass restores it. */
  readonly balancerWasRunning?: boolean;
}

export interface ClusterManifest {
  readonly formatVersion: number;
  readonly kind: typeof CLUSTER_MANIFEST_KIND;
  readonly members: readonly ClusterMember[];
  /** Oldest first. */
  readonly bases: readonly ClusterBase[];
  readonly pendingBase?: PendingClusterBase;
}

/** What discovery found: a member to back up. */
export interface SeenMember {
  readonly role: MemberRole;
  readonly name: string;
  readonly setName: string;
  readonly replicaSetId: string | null;
}

export function emptyClusterManifest(): ClusterManifest {
  return { formatVersion: CLUSTER_FORMAT_VERSION, kind: CLUSTER_MANIFEST_KIND, members: [], bases: [] };
}

export function parseClusterManifest(bytes: Buffer | string): ClusterManifest {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString());
  } catch (error) {
    throw new IntegrityError(`${CLUSTER_MANIFEST_KEY} is not valid JSON`, { cause: error });
  }
  if (!isRecord(value) || value.kind !== CLUSTER_MANIFEST_KIND || typeof value.formatVersion !== 'number' || !Array.isArray(value.members) || !Array.isArray(value.bases)) {
    throw new IntegrityError(`${CLUSTER_MANIFEST_KEY} is not a mongo-pitr cluster manifest`);
  }
  if (value.formatVersion > CLUSTER_FORMAT_VERSION) {
    throw new IntegrityError(`${CLUSTER_MANIFEST_KEY} has format ${value.formatVersion}; this mongo-pitr reads up to ${CLUSTER_FORMAT_VERSION}`, { hint: 'upgrade mongo-pitr' });
  }
  return value as unknown as ClusterManifest;
}

export function serializeClusterManifest(manifest: ClusterManifest): Buffer {
  return Buffer.from(`${JSON.stringify(manifest, null, 1)}\n`);
}

/** The member's folder in the cluster store; one name, one folder, whatever the name holds. */
export function memberPrefix(name: string): string {
  return `${MEMBERS_PREFIX}${escapeName(name)}/`;
}

export function memberNamed(manifest: ClusterManifest, name: string): ClusterMember | undefined {
  return manifest.members.find((member) => member.name === name);
}

/** Members a pass backs up: every one not marked removed. */
export function activeMembers(manifest: ClusterManifest): ClusterMember[] {
  return manifest.members.filter((member) => member.removedAt === undefined);
}

/**
 * The manifest after a discovery: new members added, members no longer seen marked removed (their
 * archive stays), a removed member seen again active again. Returns which were added and removed.
 */
export function noteMembers(manifest: ClusterManifest, seen: readonly SeenMember[], now: string): { manifest: ClusterManifest; added: string[]; removed: string[] } {
  const seenNames = new Set(seen.map((member) => member.name));
  const added: string[] = [];
  const removed: string[] = [];
  const members = manifest.members.map((member): ClusterMember => {
    if (seenNames.has(member.name)) {
      if (member.removedAt === undefined) return member;
      added.push(member.name);
      const { removedAt: _, ...back } = member;
      return back;
    }
    if (member.removedAt !== undefined) return member;
    removed.push(member.name);
    return { ...member, removedAt: now };
  });
  for (const member of seen) {
    if (memberNamed(manifest, member.name)) continue;
    added.push(member.name);
    members.push({ ...member, prefix: memberPrefix(member.name), firstSeenAt: now });
  }
  return { manifest: { ...manifest, members }, added, removed };
}

export function startClusterBase(manifest: ClusterManifest, pending: PendingClusterBase): ClusterManifest {
  return { ...manifest, pendingBase: pending };
}

/**
 * Records a finished cluster base (every member base committed) and clears the pending one. Its
 * restorable start is the largest member T1.
 */
export function recordClusterBase(manifest: ClusterManifest, base: Omit<ClusterBase, 'restorableFromTs'>): ClusterManifest {
  if (base.members.length === 0) throw new IntegrityError(`cluster base ${base.id} has no member bases`);
  const restorableFromTs = base.members.map((member) => member.endTs).reduce((a, b) => (compareTs(a, b) >= 0 ? a : b));
  const { pendingBase: _, ...rest } = manifest;
  return { ...rest, bases: [...manifest.bases, { ...base, restorableFromTs }] };
}

/** The newest cluster base, or undefined before the first. */
export function newestClusterBase(manifest: ClusterManifest): ClusterBase | undefined {
  return manifest.bases.at(-1);
}

/** Active members the newest cluster base has no base of (new shards): a new cluster base is due. */
export function membersWithoutClusterBase(manifest: ClusterManifest): string[] {
  const newest = newestClusterBase(manifest);
  const covered = new Set(newest?.members.map((member) => member.name) ?? []);
  return activeMembers(manifest).map((member) => member.name).filter((name) => !covered.has(name));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
