// The members a chain's source listed at its last pass (manifest.ts Chain.hostsSeen): what
// status names the cluster by beside its set name and replicaSetId. Pure.
import type { Chain, HostsSeen, Manifest } from './manifest.ts';

/** hostsSeen for a pass at `at`, or undefined when the source listed no members. */
export function hostsSeenOf(hosts: readonly string[] | undefined, at: string): HostsSeen | undefined {
  if (!hosts || hosts.length === 0) return undefined;
  return { hosts: [...hosts].sort(), at };
}

/** Records the members seen by a pass on one chain; a pass that saw none leaves what was recorded. */
export function noteHosts(manifest: Manifest, chainId: string, seen: HostsSeen | undefined): Manifest {
  if (!seen) return manifest;
  return { ...manifest, chains: manifest.chains.map((chain): Chain => (chain.id === chainId ? { ...chain, hostsSeen: seen } : chain)) };
}
