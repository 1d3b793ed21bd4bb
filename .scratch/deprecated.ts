import { BSON, BSONSymbol, DBRef, ObjectId } from 'mongodb';
import { decodeOrdered } from '../src/ordered-document.ts';
const sym = Buffer.from(BSON.serialize({ s: new BSONSymbol('x') }));
console.log('symbol', Buffer.from(BSON.serialize(decodeOrdered(sym) as never)).equals(sym), sym.toString('hex'));
// undefined: type 0x06
const und = Buffer.from('0800000006750000', 'hex');
console.log('undefined', Buffer.from(BSON.serialize(decodeOrdered(und) as never)).toString('hex'));
// DBPointer 0x0C: name "p", string "db.c" + 12-byte oid
const ns = Buffer.from('db.c\0'); const oid = new ObjectId().id;
const body = Buffer.concat([Buffer.from([0x0c]), Buffer.from('p\0'), Buffer.from(Uint32Array.of(ns.length).buffer), ns, Buffer.from(oid)]);
const ptr = Buffer.concat([Buffer.from(Uint32Array.of(body.length + 5).buffer), body, Buffer.from([0])]);
console.log('dbpointer', Buffer.from(BSON.serialize(decodeOrdered(ptr) as never)).equals(ptr));
