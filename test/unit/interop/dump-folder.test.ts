import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dumpDataFile, dumpMetadataFile, escapeDumpName, unescapeDumpName } from '../../../src/interop/dump-folder.ts';

describe('mongodump folder names', () => {
  test('collection names are escaped like mongodump (Go url.PathEscape) and back', () => {
    assert.equal(escapeDumpName('we/ird %name'), 'we%2Fird%20%25name');
    assert.equal(escapeDumpName('a$b&c+d=e:f@g-h_i.j~k'), 'a$b&c+d=e:f@g-h_i.j~k');
    assert.equal(escapeDumpName('é?,;'), '%C3%A9%3F%2C%3B');
    for (const name of ['we/ird %name', 'é?,;', 'plain.coll', '100%']) assert.equal(unescapeDumpName(escapeDumpName(name)), name);
    assert.equal(unescapeDumpName('100%'), '100%', 'not escaping: taken as it is');
  });

  test('a collection\'s files: <escaped>.bson and <escaped>.metadata.json', () => {
    assert.equal(dumpDataFile('we/ird %name'), 'we%2Fird%20%25name.bson');
    assert.equal(dumpMetadataFile('plain.coll'), 'plain.coll.metadata.json');
  });
});
