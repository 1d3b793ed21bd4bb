// A real MongoDB replica set from a given mongod binary (MONGOMS_SYSTEM_BINARY), through
// mongodb-memory-server-core, which never downloads when a system binary is named.
export interface MongodReplSet {
  readonly uri: string;
  stop(): Promise<void>;
}

export async function startMongodReplSet(): Promise<MongodReplSet> {
  const { MongoMemoryReplSet } = await import('mongodb-memory-server-core');
  const replSet = await MongoMemoryReplSet.create({
    replSet: { count: 1, storageEngine: 'wiredTiger', name: 'rs0' },
  });
  await replSet.waitUntilRunning();
  return { uri: replSet.getUri(), stop: async () => void (await replSet.stop()) };
}
