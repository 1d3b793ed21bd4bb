// What a cluster store restores to: every member's chains and windows (from each member's own
// manifest head), and the cluster's windows (cluster-window.ts: every member chain archived,
// after a cluster base's largest T1). Reads only the store.
import { formatWindow, windowOf, type RestoreWindow } from '../archive/chain-window.ts';
import { chainsOfSource } from '../archive/source-choice.ts';
import type { ClusterManifest, ClusterMember } from '../archive/cluster-manifest.ts';
import type { Chain } from '../archive/manifest.ts';
import { readHead } from '../backup/commit.ts';
import type { Store } from '../store/store.ts';
import { formatTs, type Ts } from '../timestamp.ts';
import { readClusterManifest } from './cluster-committer.ts';
import { clusterWindows, type ClusterWindowReport, type MemberWindows } from './cluster-window.ts';
import { memberStore } from './member-store.ts';

export interface MemberStatus {
  readonly member: ClusterMember;
  /** The member's chains, oldest first. */
  readonly chains: readonly Chain[];
  readonly windows: readonly RestoreWindow[];
}

export interface ClusterStatus {
  readonly manifest: ClusterManifest;
  readonly members: readonly MemberStatus[];
  readonly report: ClusterWindowReport;
}

export async function clusterStatus(store: Store): Promise<ClusterStatus> {
  const { manifest } = await readClusterManifest(store);
  const members = await Promise.all(manifest.members.map((member) => memberStatus(store, member)));
  const windows: MemberWindows[] = members.map((member) => ({ name: member.member.name, windows: member.windows }));
  // Only cluster bases whose every member is still in the timeline can give a window.
  const report = clusterWindows(windows, manifest.bases);
  return { manifest, members, report };
}

async function memberStatus(store: Store, member: ClusterMember): Promise<MemberStatus> {
  const { manifest } = await readHead(memberStore(store, member.prefix));
  const chains = chainsOfSource(manifest, { setName: member.setName, ...(member.replicaSetId && { replicaSetId: member.replicaSetId }) });
  // A damaged chain restores to nothing the cluster can trust at every member: left out.
  const windows = chains.filter((chain) => chain.damage === undefined).map(windowOf);
  return { member, chains, windows };
}

/** Plain JSON for --json: timestamps as "secs:ordinal". */
export function clusterStatusReport(status: ClusterStatus): Record<string, unknown> {
  const ts = (value: Ts) => formatTs(value);
  return {
    cluster: {
      windows: status.report.windows.map((window) => ({
        baseId: window.baseId,
        from: ts(window.from),
        fromWall: window.fromWall,
        to: ts(window.to),
        toWall: window.toWall,
        window: formatWindow({ chainId: window.baseId, from: window.from, fromWall: window.fromWall, to: window.to, toWall: window.toWall }),
        chains: Object.fromEntries(window.chains),
        limits: window.limits.map((limit) => ({ ...limit, ts: ts(limit.ts) })),
      })),
      limits: status.report.limits.map((limit) => ({ ...limit, ts: ts(limit.ts) })),
      bases: status.manifest.bases.map((base) => ({ id: base.id, startedAt: base.startedAt, finishedAt: base.finishedAt, restorableFrom: ts(base.restorableFromTs), members: base.members.map((member) => ({ ...member, endTs: ts(member.endTs) })) })),
      pendingBase: status.manifest.pendingBase ?? null,
    },
    members: status.members.map(({ member, chains, windows }) => ({
      name: member.name,
      role: member.role,
      setName: member.setName,
      prefix: member.prefix,
      ...(member.removedAt && { removedAt: member.removedAt }),
      chains: chains.map((chain) => ({ id: chain.id, ...(chain.damage && { damaged: true }) })),
      windows: windows.map((window) => ({ chainId: window.chainId, from: ts(window.from), to: ts(window.to), window: formatWindow(window) })),
    })),
  };
}

export function describeClusterStatus(status: ClusterStatus): string[] {
  const lines: string[] = [];
  if (status.report.windows.length === 0) lines.push('cluster window: none yet');
  for (const window of status.report.windows) {
    lines.push(`cluster window ${formatWindow({ chainId: window.baseId, from: window.from, fromWall: window.fromWall, to: window.to, toWall: window.toWall })} (cluster base ${window.baseId})`);
    for (const limit of window.limits) lines.push(`  ${limit.kind}: ${limit.message}`);
  }
  for (const limit of status.report.limits) lines.push(`no window from a base: ${limit.message}`);
  for (const { member, windows } of status.members) {
    const role = member.role === 'config' ? 'config servers' : 'shard';
    const removed = member.removedAt ? `, removed ${member.removedAt} (archive kept)` : '';
    lines.push(`${member.name} (${role}, ${member.setName}${removed}): ${windows.length === 0 ? 'no chain yet' : windows.map(formatWindow).join('; ')}`);
  }
  if (status.manifest.pendingBase) lines.push(`cluster base ${status.manifest.pendingBase.id} in progress since ${status.manifest.pendingBase.startedAt}; the next run resumes it`);
  return lines;
}
