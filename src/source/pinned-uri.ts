// The URI of a direct connection to one member, made from the URI the user gave. A run reads T0,
// every collection, T1 and the oplog from the member its read preference selected once: with
// secondary reads, a driver that picks a member per operation could read a collection from a
// lagging member (missing writes before T0) and the oplog from another (false gaps).
//
// Credentials, TLS and every other option stay as given; only the host list becomes the one
// member, with directConnection=true (Server Discovery and Monitoring spec: a Single topology
// sends every operation to that server, with secondaryOk so a secondary answers reads).
// Options that only make sense for discovery are dropped: replicaSet (the set name is checked
// by connect-source against hello), the SRV ones and loadBalanced.

/** Options that steer discovery, meaningless (or refused by the driver) on a direct connection. */
const DISCOVERY_OPTIONS = new Set(['replicaset', 'directconnection', 'srvservicename', 'srvmaxhosts', 'loadbalanced']);

const URI_SHAPE = /^(mongodb(?:\+srv)?):\/\/(?:([^@/?]*)@)?([^/?]*)(\/[^?]*)?(?:\?(.*))?$/;

export interface ResolvedOptions {
  /** The authSource the driver resolved (an SRV TXT record can set it): kept when the URI is silent. */
  readonly authSource?: string | undefined;
}

export function pinnedUri(uri: string, member: string, resolved: ResolvedOptions = {}): string {
  const match = URI_SHAPE.exec(uri);
  if (!match) throw new TypeError('not a mongodb:// or mongodb+srv:// URI');
  const [, scheme, userinfo, , path, query] = match;
  const params = (query ?? '').split('&').filter((pair) => pair !== '');
  const kept = params.filter((pair) => !DISCOVERY_OPTIONS.has((pair.split('=')[0] ?? '').toLowerCase()));
  const has = (name: string): boolean => kept.some((pair) => (pair.split('=')[0] ?? '').toLowerCase() === name);
  // mongodb+srv implies TLS unless the URI turns it off (Initial DNS Seedlist Discovery spec).
  if (scheme === 'mongodb+srv' && !has('tls') && !has('ssl')) kept.push('tls=true');
  if (userinfo && resolved.authSource && !has('authsource')) kept.push(`authSource=${encodeURIComponent(resolved.authSource)}`);
  kept.push('directConnection=true');
  return `mongodb://${userinfo ? `${userinfo}@` : ''}${member}${path || '/'}?${kept.join('&')}`;
}
