// --metrics-addr for the long-running modes (`stream`, and `run` while it runs): the metrics
// object, its scrape endpoint, and the store hooks that feed it (S3 retries, failures by kind).
import type { Command } from 'commander';
import { readHead } from '../backup/commit.ts';
import type { BackupMetrics } from '../metrics/backup-metrics.ts';
import { instrumentStore, kindOf } from '../metrics/instrumented-store.ts';
import { serveMetrics, type MetricsServer } from '../metrics/metrics-server.ts';
import type { Source } from '../source/connect-source.ts';
import type { OpenStoreOptions } from '../store/open-store.ts';
import type { Store } from '../store/store.ts';
import type { Context } from './context.ts';

export interface MetricsFlags {
  metricsAddr?: string;
}

export function addMetricsOption(command: Command): Command {
  return command.option('--metrics-addr <host:port>', 'serve Prometheus metrics at http://host:port/metrics while running (off by default)');
}

export interface RunMetrics {
  readonly metrics: BackupMetrics;
  /** Options for opening the store, so that its requests' retries are counted. */
  readonly storeOptions: OpenStoreOptions;
  /** The store, counting its failures, and the metrics primed from its manifest's head for `source`. */
  attach(source: Source, store: Store): Promise<Store>;
  close(): Promise<void>;
}

/** Undefined when --metrics-addr is not given: no server, no hooks. */
export async function startMetrics(context: Context, flags: MetricsFlags): Promise<RunMetrics | undefined> {
  if (!flags.metricsAddr) return undefined;
  // prom-client is loaded only when metrics are served: every other command starts without it.
  const metrics = new (await import('../metrics/backup-metrics.ts')).BackupMetrics();
  const server: MetricsServer = await serveMetrics(flags.metricsAddr, metrics.registry);
  context.log.event('metrics.listen', `metrics at ${server.url}`, { url: server.url });
  return {
    metrics,
    storeOptions: {
      onAttempts: (operation, attempts) => metrics.observeStoreAttempts(operation, attempts),
      retry: { onRetry: (event) => metrics.observeStoreRetry(event.operation, kindOf(event.error)) },
    },
    async attach(source, store) {
      metrics.forSource(source.identity);
      const counted = instrumentStore(store, (kind) => metrics.observeStoreError(kind));
      // The head alone: a read that does not grow with the chain's sealed history (backup-metrics.ts).
      metrics.observeManifest((await readHead(counted)).manifest, source.identity);
      return counted;
    },
    close: () => server.close(),
  };
}
