// --metrics-addr for a cluster stream and a cluster run (cluster-run-metrics.ts): the
// replica-set stream's series for every member, told apart by member and role (backup-metrics.ts
// MEMBER_LABELS), the store's failures and retries once for the process, and the cluster's window,
// read back from the store (cluster-status.ts) after each member's chunk, since it moves only when
// every member's archive has.
import { readHead } from '../backup/commit.ts';
import { clusterStatus } from '../cluster/cluster-status.ts';
import type { SourceIdentity } from '../archive/manifest.ts';
import type { SourceMetrics } from '../metrics/backup-metrics.ts';
import { instrumentStore, kindOf } from '../metrics/instrumented-store.ts';
import { serveMetrics } from '../metrics/metrics-server.ts';
import type { OpenStoreOptions } from '../store/open-store.ts';
import type { Store } from '../store/store.ts';
import type { Context } from './context.ts';

export interface ClusterMetrics {
  /** Options for opening the store, so that its requests' retries are counted. */
  readonly storeOptions: OpenStoreOptions;
  /** The cluster store, counting its failures (member stores are views of it). */
  count(store: Store): Store;
  /** A member's series, primed from its manifest's head (its newest chain's window, health, newest op). */
  member(member: { readonly name: string; readonly role: string; readonly identity: SourceIdentity }, store: Store): Promise<SourceMetrics>;
  /** Reads the cluster's window again (after a chunk); one read at a time, the latest request wins. */
  refreshWindow(store: Store): void;
  /** Resolves when no read of the window is under way (before the store closes). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export async function startClusterMetrics(context: Context, addr: string | undefined): Promise<ClusterMetrics | undefined> {
  if (!addr) return undefined;
  // prom-client is loaded only when metrics are served (metrics.ts says why).
  const { BackupMetrics, MEMBER_LABELS } = await import('../metrics/backup-metrics.ts');
  const { ClusterWindowMetrics } = await import('../metrics/cluster-window-metrics.ts');
  const metrics = new BackupMetrics({ labelNames: MEMBER_LABELS });
  const window = new ClusterWindowMetrics(metrics.registry);
  const server = await serveMetrics(addr, metrics.registry);
  context.log.event('metrics.listen', `metrics at ${server.url}`, { url: server.url });
  let reading: Promise<void> | undefined;
  let again = false;
  const readWindow = async (store: Store): Promise<void> => {
    do {
      again = false;
      window.observeWindows((await clusterStatus(store)).report.windows);
    } while (again);
  };
  return {
    storeOptions: {
      onAttempts: (operation, attempts) => metrics.observeStoreAttempts(operation, attempts),
      retry: { onRetry: (event) => metrics.observeStoreRetry(event.operation, kindOf(event.error)) },
    },
    count: (store) => instrumentStore(store, (kind) => metrics.observeStoreError(kind)),
    async member(member, store) {
      const series = metrics.sourceMetrics({ set_name: member.identity.setName, member: member.name, role: member.role });
      series.observeManifest((await readHead(store)).manifest, member.identity);
      return series;
    },
    refreshWindow(store) {
      if (reading) {
        again = true;
        return;
      }
      // A failed read leaves the last window shown; the store's failure is counted by kind.
      reading = readWindow(store)
        .catch((error: unknown) => context.log.warn(`metrics: the cluster window could not be read: ${error instanceof Error ? error.message : String(error)}`))
        .finally(() => (reading = undefined));
    },
    async idle() {
      while (reading) await reading;
    },
    close: () => server.close(),
  };
}
