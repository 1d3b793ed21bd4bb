// pinnedUri: a run's direct connection keeps the user's credentials and TLS options and drops
// only what steers discovery.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pinnedUri } from '../../../src/source/pinned-uri.ts';

test('a replica-set URI becomes a direct connection to the selected member, options kept', () => {
  const uri = 'mongodb://backup:s%40cret@a.example:27017,b.example:27018/admin?replicaSet=rs0&readPreference=secondary&tls=true&tlsCAFile=/ca.pem';
  assert.equal(
    pinnedUri(uri, 'b.example:27018'),
    'mongodb://backup:s%40cret@b.example:27018/admin?readPreference=secondary&tls=true&tlsCAFile=/ca.pem&directConnection=true',
  );
});

test('an SRV URI keeps TLS on and the authSource its TXT record gave', () => {
  assert.equal(
    pinnedUri('mongodb+srv://u:p@cluster0.example.net/?retryWrites=true&srvMaxHosts=2', 'shard-00-01.example.net:27017', { authSource: 'admin' }),
    'mongodb://u:p@shard-00-01.example.net:27017/?retryWrites=true&tls=true&authSource=admin&directConnection=true',
  );
  assert.match(pinnedUri('mongodb+srv://c.example.net/?tls=false', 'h:1'), /\?tls=false&directConnection=true$/);
});

test('an existing directConnection flag is not doubled, and no credentials means no authSource', () => {
  assert.equal(
    pinnedUri('mongodb://127.0.0.1:27017/?replicaSet=rs0&directConnection=true', '127.0.0.1:27017', { authSource: 'admin' }),
    'mongodb://127.0.0.1:27017/?directConnection=true',
  );
});
