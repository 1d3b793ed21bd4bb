import { readBsonFile } from '../src/archive/bson-frames.ts';
import { BSON } from 'mongodb';
let i = 0;
for await (const raw of readBsonFile('/work/shared/fixtures/mongo-tools/timeseries/ts_dump_with_oplog/oplog.bson')) {
  if (i === 870 || i === 0) console.log(i, BSON.EJSON.stringify(BSON.deserialize(raw).o), BSON.deserialize(raw).o2);
  i++;
}
