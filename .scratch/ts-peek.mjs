import { BSON, EJSON } from 'bson';
import { readFileSync } from 'node:fs';
function frames(buf){ const out=[]; let o=0; while(o<buf.length){ const n=buf.readInt32LE(o); out.push(buf.subarray(o,o+n)); o+=n;} return out; }
const dir='/work/shared/fixtures/mongo-tools/timeseries/ts_dump_with_oplog/';
const buckets=frames(readFileSync(dir+'timeseries_test/system.buckets.foo_ts.bson'));
console.log('buckets', buckets.length);
console.log(EJSON.stringify(BSON.deserialize(buckets[0],{promoteValues:false}),{relaxed:true}).slice(0,1500));
const ops=frames(readFileSync(dir+'oplog.bson'));
console.log('ops', ops.length);
const kinds={};
for(const r of ops){const e=BSON.deserialize(r,{promoteValues:false}); const k=e.op+' '+e.ns+' '+Object.keys(e.o).join(',')+' '+(e.o.diff?Object.keys(e.o.diff).join(','):''); kinds[k]=(kinds[k]??0)+1;}
console.log(kinds);
for (const i of [0,1,2,500]) console.log(EJSON.stringify(BSON.deserialize(ops[i],{promoteValues:false}),{relaxed:true}).slice(0,1500));
