// Which routers a cluster restore flushes (cluster/routers.ts). A driver client on a multi-host
// mongos URI sends flushRouterConfig to one router only, and a real cluster's other routers are
// named only by config.mongos: each mongos upserts {_id: "host:port", ping, up, waiting,
// mongoVersion, advisoryHostFQDNs, created} every 10 s (src/mongo/s/sharding_uptime_reporter.cpp,
// s/catalog/type_mongos.h), and a stopped one's document stays behind.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Long } from 'mongodb';
import { ACTIVE_ROUTER_MS, activeRouterHost, routersToFlush } from '../../../src/cluster/routers.ts';
import { hostsOfUri, uriForHosts } from '../../../src/cluster/topology.ts';

const NOW = new Date('2026-12-01T10:00:00.000Z');
/** A config.mongos document as the uptime reporter writes it, `ago` ms before NOW. */
function routerDoc(id: string, ago: number): Record<string, unknown> {
  return {
    _id: id,
    advisoryHostFQDNs: [],
    created: new Date(NOW.getTime() - 86_400_000),
    mongoVersion: '8.0.4',
    ping: new Date(NOW.getTime() - ago),
    up: Long.fromNumber(86_400),
    waiting: true,
  };
}
const CONFIG = 'mongodb://backup:p%40ss@cfg1:27019,cfg2:27019/admin?authSource=admin&tls=true&replicaSet=configRS';

describe('routersToFlush', () => {
  it('flushes each host of a multi-host mongos URI through a URI of its own, with its credentials and options', () => {
    const routers = routersToFlush(['mongodb://backup:p%40ss@router1:27017,router2/admin?authSource=admin&tls=true&directConnection=false'], [], NOW, CONFIG);
    assert.deepEqual(routers.named, [
      'mongodb://backup:p%40ss@router1:27017/admin?authSource=admin&tls=true',
      'mongodb://backup:p%40ss@router2/admin?authSource=admin&tls=true',
    ]);
    assert.deepEqual(routers.active, []);
  });

  it('keeps a single-host or mongodb+srv URI whole', () => {
    const srv = 'mongodb+srv://u:p@cluster0.example.net/?retryWrites=true';
    assert.deepEqual(routersToFlush(['mongodb://router1/', srv], [], NOW, CONFIG).named, ['mongodb://router1/', srv]);
  });

  it('adds the routers config.mongos shows active that no URI names, on the named URI\'s credentials; not the stale ones, not the named ones twice', () => {
    const docs = [routerDoc('router1:27017', 5_000), routerDoc('ROUTER2:27017', 8_000), routerDoc('router3:27017', 9_000), routerDoc('old-router:27017', ACTIVE_ROUTER_MS + 1)];
    const routers = routersToFlush(['mongodb://u:p@router1,router2/?tls=true'], docs, NOW, CONFIG);
    assert.deepEqual(routers.active, ['mongodb://u:p@router3:27017/?tls=true']);
  });

  it('reaches an unnamed router with the config servers\' credentials when no router is named (a topology file without "mongos")', () => {
    const routers = routersToFlush([], [routerDoc('router9:27017', 1_000)], NOW, CONFIG);
    assert.deepEqual(routers.named, []);
    assert.deepEqual(routers.active, ['mongodb://backup:p%40ss@router9:27017/admin?authSource=admin&tls=true']);
  });
});

describe('activeRouterHost', () => {
  it('reads _id and ping as the server writes them; anything else is no router', () => {
    assert.equal(activeRouterHost(routerDoc('r:27017', 0), NOW), 'r:27017');
    assert.equal(activeRouterHost(routerDoc('r:27017', ACTIVE_ROUTER_MS), NOW), 'r:27017');
    assert.equal(activeRouterHost(routerDoc('r:27017', ACTIVE_ROUTER_MS + 1), NOW), undefined);
    assert.equal(activeRouterHost({ _id: 'r:27017', ping: '2026-12-01T10:00:00Z' }, NOW), undefined);
    assert.equal(activeRouterHost({ ping: NOW }, NOW), undefined);
    assert.equal(activeRouterHost(null, NOW), undefined);
  });
});

describe('uriForHosts / hostsOfUri', () => {
  it('round-trip the hosts of a mongodb:// URI; none for mongodb+srv', () => {
    assert.deepEqual(hostsOfUri('mongodb://u:p@a:1,b/db?x=1'), ['a:1', 'b']);
    assert.deepEqual(hostsOfUri('mongodb+srv://u:p@cluster0.example.net/'), []);
    assert.equal(uriForHosts('mongodb://u:p@a:1,b/db?replicaSet=rs&x=1', ['b']), 'mongodb://u:p@b/db?x=1');
    assert.equal(uriForHosts('mongodb://a/', ['a']), 'mongodb://a/');
  });
});
