import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Crc64 } from '../../../src/interop/crc64.ts';

test('CRC-64 is Go\'s crc64.ECMA (CRC-64/XZ check value)', () => {
  assert.equal(new Crc64().update(Buffer.from('123456789')).value(), 0x995dc9bbdf1939fan);
  assert.equal(new Crc64().update(Buffer.from('1234')).update(Buffer.from('56789')).value(), 0x995dc9bbdf1939fan, 'incremental');
});
