// Which test files need a real sharded cluster (TEST_MONGOS_URI), and how test/run.ts runs them:
// apart from the rest and one at a time, since they share the one cluster they are given (each
// backs up the whole cluster, so a second file's databases would land in the first's archive
// and restores). The FerretDB-simulated cluster files (cluster.test.ts, cluster-ops.test.ts,
// cluster-uuids.test.ts) build clusters of their own and keep running as they do.
// No import of the driver here: test/run.ts loads this before any server starts.

/** Files named `*cluster-real*.test.ts` drive a real cluster through its mongos. */
export const REAL_CLUSTER_FILE = /(^|\/)[^/]*cluster-real[^/]*\.test\.ts$/;

export interface TestFilePlan {
  /** Files for node:test at the run's usual concurrency. */
  readonly rest: readonly string[];
  /** Real-cluster files for a node:test run of their own at concurrency 1; empty without a cluster. */
  readonly realCluster: readonly string[];
}

/**
 * Splits the files of a run. Without a cluster the real-cluster files stay among the rest, where
 * they skip with a reason naming TEST_MONGOS_URI (a skipped file costs nothing and says why).
 */
export function planTestFiles(files: readonly string[], mongosUri: string | undefined): TestFilePlan {
  if (!mongosUri) return { rest: [...files], realCluster: [] };
  return {
    rest: files.filter((file) => !REAL_CLUSTER_FILE.test(file)),
    realCluster: files.filter((file) => REAL_CLUSTER_FILE.test(file)),
  };
}
