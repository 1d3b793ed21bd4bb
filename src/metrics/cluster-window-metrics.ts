// The cluster's restorable window for Prometheus (a cluster stream): where the newest cluster
// window starts and ends (cluster/cluster-window.ts: after its cluster base's largest T1, up to
// where every member is archived and every transaction prepared before is decided). The members'
// own windows are the per-member series of backup-metrics.ts; this is what a restore of the
// whole cluster can reach, the number to alert on.
import { Gauge, type Registry } from 'prom-client';
import type { Ts } from '../timestamp.ts';

export class ClusterWindowMetrics {
  readonly #start: Gauge;
  readonly #end: Gauge;

  constructor(registry: Registry) {
    const registers = [registry];
    this.#start = new Gauge({ name: 'mongo_pitr_cluster_window_start_timestamp_seconds', help: 'Earliest time the newest cluster window restores to (after its cluster base\'s largest member T1); absent while there is none', registers });
    this.#end = new Gauge({ name: 'mongo_pitr_cluster_window_end_timestamp_seconds', help: 'Latest time the newest cluster window restores to (every member archived, every prepared transaction decided); absent while there is none', registers });
  }

  /** The newest of the cluster's windows, oldest first; none: the series are absent, not 0. */
  observeWindows(windows: readonly { readonly from: Ts; readonly to: Ts }[]): void {
    const newest = windows.at(-1);
    if (!newest) {
      this.#start.reset();
      this.#end.reset();
      return;
    }
    // Seconds since the epoch, as the per-source windows (the ordinal is dropped).
    this.#start.set(newest.from.t);
    this.#end.set(newest.to.t);
  }
}
