// The routers a restore must make reload their routing tables (flushRouterConfig), one by one.
//
// A client on "mongodb://mongos1,mongos2/" sends a command to one of them only (the driver picks
// a router per operation), so each named host is flushed through a URI of its own. And a real
// cluster has the routers nobody named: every mongos writes its own document to config.mongos
// every 10 s (src/mongo/s/sharding_uptime_reporter.cpp, kUptimeReportInterval; the document is
// s/catalog/type_mongos.h: `_id` "host:port" as the router knows itself, `ping` Date, `up`,
// `waiting`, `mongoVersion`, `advisoryHostFQDNs`, `created`), and a router that stopped leaves
// its document behind. So the routers pinged within ACTIVE_ROUTER_MS are flushed too, best
// effort: their `_id` is the host's own name, which need not resolve from where mongo-pitr runs.
// Pure; cluster-restore.ts does the I/O.
import { hostsOfUri, uriForHosts } from './topology.ts';

/** Six missed uptime reports: a router quieter than this is taken as gone. */
export const ACTIVE_ROUTER_MS = 60_000;

export interface RoutersToFlush {
  /** One URI per router host named by the topology: each must be flushed. */
  readonly named: readonly string[];
  /** Other routers config.mongos shows active, as "host:port" URIs with the same credentials: best effort. */
  readonly active: readonly string[];
}

/**
 * `named`: the topology's router URIs (a mongodb+srv one stays whole: DNS names its hosts);
 * `routerDocs`: config.mongos as read from the config servers; `credentialsFrom`: the URI whose
 * credentials and options reach an unnamed router (the first named one, else the config servers').
 */
export function routersToFlush(named: readonly string[], routerDocs: readonly unknown[], now: Date, credentialsFrom: string): RoutersToFlush {
  const hosts = new Set<string>();
  const perHost: string[] = [];
  for (const uri of named) {
    const listed = hostsOfUri(uri);
    if (listed.length <= 1) perHost.push(uri);
    else for (const host of listed) perHost.push(uriForHosts(uri, [host]));
    for (const host of listed) hosts.add(hostKey(host));
  }
  const base = named[0] ?? credentialsFrom;
  const active: string[] = [];
  for (const doc of routerDocs) {
    const host = activeRouterHost(doc, now);
    if (!host || hosts.has(hostKey(host))) continue;
    hosts.add(hostKey(host));
    // uriForHosts drops router-only options, replicaSet among them: the config servers' URI serves too.
    active.push(uriForHosts(base, [host]));
  }
  return { named: perHost, active };
}

/** The "host:port" of a config.mongos document pinged within ACTIVE_ROUTER_MS of `now`. */
export function activeRouterHost(doc: unknown, now: Date): string | undefined {
  if (typeof doc !== 'object' || doc === null) return undefined;
  const { _id: id, ping } = doc as { _id?: unknown; ping?: unknown };
  if (typeof id !== 'string' || id.length === 0 || !(ping instanceof Date)) return undefined;
  return now.getTime() - ping.getTime() <= ACTIVE_ROUTER_MS ? id : undefined;
}

/** A host with the default port written out, lower-cased: "Router1" and "router1:27017" are one. */
function hostKey(host: string): string {
  const lower = host.toLowerCase();
  return /:\d+$/.test(lower) ? lower : `${lower}:27017`;
}
