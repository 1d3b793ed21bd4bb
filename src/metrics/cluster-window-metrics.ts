// The cluster's restorable window for Prometheus (a cluster stream): where the newest cluster
// window starts and ends (cluster/cluster-window.ts: after its cluster base's largest T1, up to
// where every member is archived and every transaction prepared before is decided). The members'
// own windows are the per-member series of backup-metrics.ts; this is what a restore of the
// whole cluster can reach, the number to alert on. Labelled by the cluster base the window starts
// from, which also lets the series be absent while there is no window (an unlabelled gauge would
// read 0, a time in 1970).
import { Gauge, type Registry } from 'prom-client';
import type { Ts } from '../timestamp.ts';

export class ClusterWindowMetrics {
  readonly #start: Gauge<'cluster_base'>;
  readonly #end: Gauge<'cluster_base'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.#start = new Gauge({ name: 'mongo_pitr_cluster_window_start_timestamp_seconds', help: 'Earliest time the newest cluster window restores to (after its cluster base\'s largest member T1); absent while there is none', labelNames: ['cluster_base'] as const, registers });
    this.#end = new Gauge({ name: 'mongo_pitr_cluster_window_end_timestamp_seconds', help: 'Latest time the newest cluster window restores to (every member archived, every prepared transaction decided); absent while there is none', labelNames: ['cluster_base'] as const, registers });
  }

  /** The newest of the cluster's windows, oldest first; none: the series are absent, not 0. */
  observeWindows(windows: readonly { readonly baseId: string; readonly from: Ts; readonly to: Ts }[]): void {
    const newest = windows.at(-1);
    // Only the newest window's series: an older cluster base's is dropped when a new one opens.
    this.#start.reset();
    this.#end.reset();
    if (!newest) return;
    // Seconds since the epoch, as the per-source windows (the ordinal is dropped).
    const labels = { cluster_base: newest.baseId };
    this.#start.set(labels, newest.from.t);
    this.#end.set(labels, newest.to.t);
  }
}
