// Which sharded cluster a Lambda invocation backs up, if any, decided as `run`'s CLI decides it
// (cli/commands/cluster-run.ts clusterRunOf): a topology given (MONGO_PITR_TOPOLOGY: the topology
// JSON inline, as a function's environment holds it, or a path to a file in the package), else a
// MONGODB_URI that reaches a mongos (hello.msg "isdbgrid"; a URI naming replicaSet= never does).
import { isMongos, topologyFromFile, topologyFromMongos } from '../cluster/discover-topology.ts';
import { parseTopology, type ClusterTopology } from '../cluster/topology.ts';
import { UsageError } from '../errors.ts';

export const TOPOLOGY_ENV = 'MONGO_PITR_TOPOLOGY';
export const ALLOW_BALANCER_ENV = 'MONGO_PITR_ALLOW_BALANCER';

/** The topology setting as given: inline JSON or a file path. */
export type TopologySetting = { readonly json: string } | { readonly file: string };

export function topologySettingOf(text: string | undefined): TopologySetting | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  return text.trim().startsWith('{') ? { json: text } : { file: text.trim() };
}

/** The cluster's topology, or undefined for a replica set. */
export async function clusterTopologyOf(setting: TopologySetting | undefined, uri: string | undefined): Promise<ClusterTopology | undefined> {
  if (setting && 'json' in setting) {
    let json: unknown;
    try {
      json = JSON.parse(setting.json);
    } catch (error) {
      throw new UsageError(`${TOPOLOGY_ENV} is not JSON: ${(error as Error).message}`, { cause: error });
    }
    return parseTopology(json, TOPOLOGY_ENV);
  }
  if (setting) return topologyFromFile(setting.file);
  if (uri && !/[?&]replicaSet=/i.test(uri) && (await isMongos(uri))) return topologyFromMongos(uri);
  return undefined;
}
