import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Timestamp, UUID } from 'mongodb';
import type { Document } from 'mongodb';
import type { OplogEntry } from '../../../src/oplog-entry.ts';
import { UsageError } from '../../../src/errors.ts';
import {
  SKIP_EXCLUDED,
  compileNamespaceRules,
  dropDatabaseAsDrops,
  mapEntry,
} from '../../../src/restore/namespace-rules.ts';
import type { MappedEntry, NamespaceRuleOptions } from '../../../src/restore/namespace-rules.ts';

function usage(pattern: RegExp): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof UsageError, `expected UsageError, got ${String(error)}`);
    assert.match(error.message, pattern);
    assert.ok(!error.message.includes('\n'), 'one line');
    return true;
  };
}

describe('compileNamespaceRules: --nsInclude / --nsExclude', () => {
  it('accepts everything and renames nothing without flags', () => {
    const rules = compileNamespaceRules({});
    assert.equal(rules.identity, true);
    assert.equal(rules.accepts('any.thing'), true);
    assert.equal(rules.rename('any.thing'), 'any.thing');
  });

  it('matches * across dots, anchored at both ends', () => {
    const rules = compileNamespaceRules({ include: ['shop.*', '*.audit'] });
    assert.equal(rules.identity, false);
    assert.equal(rules.accepts('shop.orders'), true);
    assert.equal(rules.accepts('shop.orders.archive'), true);
    assert.equal(rules.accepts('hr.audit'), true);
    assert.equal(rules.accepts('shopping.orders'), false);
    assert.equal(rules.accepts('hr.audits'), false);
  });

  it('treats regular-expression characters literally', () => {
    const rules = compileNamespaceRules({ include: ['a.b+c(1)|[x]^{2}?'] });
    assert.equal(rules.accepts('a.b+c(1)|[x]^{2}?'), true);
    assert.equal(rules.accepts('aXb+c(1)|[x]^{2}?'), false, 'a dot is a dot');
    assert.equal(rules.accepts('a.bbc1x'), false);
  });

  it('excludes after including', () => {
    const rules = compileNamespaceRules({ include: ['shop.*'], exclude: ['shop.tmp*', '*.cache'] });
    assert.equal(rules.accepts('shop.orders'), true);
    assert.equal(rules.accepts('shop.tmp_1'), false);
    assert.equal(rules.accepts('shop.cache'), false);
    assert.equal(compileNamespaceRules({ exclude: ['hr.*'] }).accepts('shop.x'), true);
  });

  it('honours backslash escapes', () => {
    const rules = compileNamespaceRules({ include: ['db.a\\*b', 'db.back\\\\slash', 'db.\\x'] });
    assert.equal(rules.accepts('db.a*b'), true);
    assert.equal(rules.accepts('db.aXb'), false);
    assert.equal(rules.accepts('db.back\\slash'), true);
    assert.equal(rules.accepts('db.x'), true);
  });

  it('refuses bad patterns with a one-line UsageError', () => {
    assert.throws(() => compileNamespaceRules({ include: ['db.$cmd'] }), usage(/--nsInclude "db\.\$cmd": '\$' is only allowed/));
    assert.throws(() => compileNamespaceRules({ exclude: ['db.x\\'] }), usage(/--nsExclude "db\.x\\\\": ends with a lone/));
    assert.throws(() => compileNamespaceRules({ include: [''] }), usage(/--nsInclude: empty pattern/));
  });
});

describe('compileNamespaceRules: --nsFrom / --nsTo', () => {
  it('maps wildcards in order, lazily', () => {
    const rules = compileNamespaceRules({ from: ['shop.*'], to: ['shop_copy.*'] });
    assert.equal(rules.rename('shop.orders'), 'shop_copy.orders');
    assert.equal(rules.rename('shop.orders.x'), 'shop_copy.orders.x');
    assert.equal(rules.rename('other.orders'), 'other.orders');
    const two = compileNamespaceRules({ from: ['*.*'], to: ['*_old.*'] });
    assert.equal(two.rename('a.b.c'), 'a_old.b.c');
  });

  it('maps $name$ parts in any order (the mongorestore docs example)', () => {
    const rules = compileNamespaceRules({ from: ['data.$prefix$_$customer$'], to: ['$customer$.$prefix$'] });
    assert.equal(rules.rename('data.invoices_acme'), 'acme.invoices');
    assert.equal(rules.rename('data.invoices'), 'data.invoices', 'no match, no rename');
  });

  it('lets a $name$ be reused or left out in --nsTo', () => {
    const rules = compileNamespaceRules({ from: ['$db$.$coll$'], to: ['$db$_bak.$coll$_$db$'] });
    assert.equal(rules.rename('shop.orders'), 'shop_bak.orders_shop');
  });

  it('treats * literally in the $name$ form, as mongorestore does', () => {
    const rules = compileNamespaceRules({ from: ['a.*$x$'], to: ['b.$x$'] });
    assert.equal(rules.rename('a.*q'), 'b.q');
    assert.equal(rules.rename('a.zq'), 'a.zq');
  });

  it('lets the last matching pair win', () => {
    const rules = compileNamespaceRules({ from: ['shop.*', 'shop.orders'], to: ['one.*', 'two.orders'] });
    assert.equal(rules.rename('shop.orders'), 'two.orders');
    assert.equal(rules.rename('shop.items'), 'one.items');
  });

  it('selects on the source namespace', () => {
    const rules = compileNamespaceRules({ include: ['shop.*'], from: ['shop.*'], to: ['store.*'] });
    assert.equal(rules.accepts('shop.orders'), true);
    assert.equal(rules.accepts('store.orders'), false);
  });

  it('refuses unpaired and inconsistent patterns with a one-line UsageError', () => {
    const cases: Array<[NamespaceRuleOptions, RegExp]> = [
      [{ from: ['a.*'], to: [] }, /come in pairs: got 1 --nsFrom and 0 --nsTo/],
      [{ from: ['a.*'], to: ['b.c'] }, /has 1 '\*' but --nsTo "b\.c" has 0/],
      [{ from: ['a.$x$'], to: ['b.$y$'] }, /--nsTo "b\.\$y\$": \$y\$ is not in --nsFrom/],
      [{ from: ['$x$.$x$'], to: ['b.$x$'] }, /\$x\$ is used twice/],
      [{ from: ['a.$x'], to: ['b.$x$'] }, /--nsFrom "a\.\$x": unbalanced '\$'/],
      [{ from: ['a.$x$'], to: ['b.$x'] }, /--nsTo "b\.\$x": unbalanced/],
      [{ from: ['a.$$'], to: ['b.c'] }, /empty \$\$ name/],
      [{ from: ['a.*'], to: ['$x$.*'] }, /--nsTo "\$x\$\.\*": '\$' is only allowed/],
    ];
    for (const [options, pattern] of cases) assert.throws(() => compileNamespaceRules(options), usage(pattern));
  });

  it('refuses a rename whose result is not db.collection', () => {
    const rules = compileNamespaceRules({ from: ['a.*'], to: ['*'] });
    assert.throws(() => rules.rename('a.b'), usage(/rename a\.b to "b", not a db\.collection namespace/));
  });
});

const TS = new Timestamp({ t: 1_700_000_000, i: 4 });

function crud(ns: string, extra: Partial<OplogEntry> = {}): OplogEntry {
  return { op: 'i', ns, ui: new UUID(), o: { _id: 1 }, ts: TS, ...extra };
}

function cmd(db: string, o: Document): OplogEntry {
  return { op: 'c', ns: `${db}.$cmd`, ui: new UUID(), o, ts: TS, wall: new Date(0) };
}

function applied(result: MappedEntry): OplogEntry {
  assert.equal(result.kind, 'apply', JSON.stringify(result));
  return result.kind === 'apply' ? result.entry : assert.fail();
}

describe('mapEntry', () => {
  const rules = compileNamespaceRules({
    include: ['shop.*', 'hr.*'],
    exclude: ['shop.secret'],
    from: ['shop.*'],
    to: ['store.*'],
  });

  it('returns entries untouched when there are no rules', () => {
    const entry = crud('x.y');
    assert.equal(applied(mapEntry(compileNamespaceRules({}), entry)), entry);
    const drop = cmd('x', { dropDatabase: 1 });
    assert.equal(applied(mapEntry(compileNamespaceRules({}), drop)), drop);
  });

  it('renames CRUD entries and drops their ui; keeps unchanged ones as they are', () => {
    const entry = crud('shop.orders', { o2: { _id: 1 }, op: 'u' });
    const mapped = applied(mapEntry(rules, entry));
    assert.equal(mapped.ns, 'store.orders');
    assert.equal(mapped.ui, undefined);
    assert.equal(mapped.o2, entry.o2);
    const same = crud('hr.people');
    assert.equal(applied(mapEntry(rules, same)), same);
  });

  it('skips excluded CRUD entries with a stable reason', () => {
    assert.deepEqual(mapEntry(rules, crud('shop.secret')), { kind: 'skip', reason: SKIP_EXCLUDED });
    assert.deepEqual(mapEntry(rules, crud('other.x')), { kind: 'skip', reason: SKIP_EXCLUDED });
  });

  it('passes no-ops', () => {
    const noop: OplogEntry = { op: 'n', ns: '', o: { msg: 'periodic noop' }, ts: TS };
    assert.equal(applied(mapEntry(rules, noop)), noop);
  });

  it('renames collection commands in the entry ns and in o', () => {
    for (const verb of ['create', 'drop', 'collMod', 'createIndexes', 'commitIndexBuild', 'dropIndexes', 'emptycapped', 'convertToCapped']) {
      const entry = cmd('shop', { [verb]: 'orders', extra: 1 });
      const mapped = applied(mapEntry(rules, entry));
      assert.equal(mapped.ns, 'store.$cmd', verb);
      assert.deepEqual(mapped.o, { [verb]: 'orders', extra: 1 }, verb);
      assert.equal(mapped.ui, undefined);
    }
    assert.deepEqual(mapEntry(rules, cmd('shop', { drop: 'secret' })), { kind: 'skip', reason: SKIP_EXCLUDED });
  });

  it('renames the source of a view with the view', () => {
    const mapped = applied(mapEntry(rules, cmd('shop', { create: 'v', viewOn: 'orders', pipeline: [] })));
    assert.deepEqual([mapped.ns, mapped.o.create, mapped.o.viewOn], ['store.$cmd', 'v', 'orders']);
    const split = compileNamespaceRules({ from: ['shop.v'], to: ['elsewhere.v'] });
    assert.deepEqual(mapEntry(split, cmd('shop', { create: 'v', viewOn: 'orders', pipeline: [] })), {
      kind: 'skip',
      reason: 'view renamed into another database than its source',
    });
  });

  it('maps a time-series buckets collection by its collection name', () => {
    const mapped = applied(mapEntry(rules, cmd('shop', { create: 'system.buckets.weather', timeseries: { timeField: 't' } })));
    assert.deepEqual([mapped.ns, mapped.o.create], ['store.$cmd', 'system.buckets.weather']);
    assert.equal(applied(mapEntry(rules, crud('shop.system.buckets.weather'))).ns, 'store.system.buckets.weather');
  });

  it('maps renameCollection by both of its namespaces', () => {
    const both = applied(mapEntry(rules, cmd('shop', { renameCollection: 'shop.a', to: 'hr.b', dropTarget: true })));
    assert.deepEqual(both.o, { renameCollection: 'store.a', to: 'hr.b', dropTarget: true });
    assert.equal(both.ns, 'store.$cmd');
    const out = applied(mapEntry(rules, cmd('shop', { renameCollection: 'shop.a', to: 'shop.secret' })));
    assert.deepEqual([out.ns, out.o], ['store.$cmd', { drop: 'a' }], 'leaving the restore is a drop');
    assert.deepEqual(mapEntry(rules, cmd('shop', { renameCollection: 'shop.secret', to: 'shop.a' })), {
      kind: 'skip',
      reason: 'renameCollection from an excluded namespace into a restored one',
    });
    assert.deepEqual(mapEntry(rules, cmd('x', { renameCollection: 'x.a', to: 'x.b' })), { kind: 'skip', reason: SKIP_EXCLUDED });
    const hr = cmd('hr', { renameCollection: 'hr.a', to: 'hr.b' });
    assert.equal(applied(mapEntry(rules, hr)), hr, 'untouched when nothing is renamed');
  });

  it('asks the caller to expand dropDatabase under rules', () => {
    const entry = cmd('shop', { dropDatabase: 1 });
    const result = mapEntry(rules, entry);
    assert.deepEqual(result, { kind: 'dropDatabase', db: 'shop', entry });
    const drops = dropDatabaseAsDrops(entry, ['orders', 'secret']);
    assert.deepEqual(drops.map((drop) => [drop.ns, drop.o, drop.ts, drop.ui]), [
      ['shop.$cmd', { drop: 'orders' }, TS, undefined],
      ['shop.$cmd', { drop: 'secret' }, TS, undefined],
    ]);
    assert.deepEqual(
      drops.map((drop) => mapEntry(rules, drop)).map((m) => (m.kind === 'apply' ? m.entry.o : m.kind)),
      [{ drop: 'orders' }, 'skip'],
    );
  });

  it('passes commands it does not know, for planCommand to judge', () => {
    const entry = cmd('shop', { dbCheck: 'orders' });
    assert.equal(applied(mapEntry(rules, entry)), entry);
  });
});
