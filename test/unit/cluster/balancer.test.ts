// The balancer mode a config.settings document means, as BalancerSettingsType::fromBSON reads it
// (src/mongo/s/balancer_configuration.cpp): stopped:true wins; mode defaults to "full"; an
// unknown mode turns the balancer off; no document is the default, full.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { balancerModeOf } from '../../../src/cluster/balancer.ts';

test('balancer mode from config.settings', () => {
  assert.equal(balancerModeOf(null), 'full');
  assert.equal(balancerModeOf({ _id: 'balancer' }), 'full');
  assert.equal(balancerModeOf({ _id: 'balancer', mode: 'full', stopped: false }), 'full');
  assert.equal(balancerModeOf({ _id: 'balancer', mode: 'off', stopped: true }), 'off');
  assert.equal(balancerModeOf({ _id: 'balancer', mode: 'full', stopped: true }), 'off');
  assert.equal(balancerModeOf({ _id: 'balancer', mode: 'off' }), 'off');
  assert.equal(balancerModeOf({ _id: 'balancer', mode: 'autoSplitOnly' }), 'off');
});
