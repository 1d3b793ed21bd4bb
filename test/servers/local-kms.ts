// local-kms (nsmithuk/local-kms), a KMS-compatible server, for the KMS envelope-encryption
// tests: keys live in a temporary folder; tests create their own keys over the KMS API
// (createTestKey), so one disabling its key never touches another's. local-kms has no listen
// address setting: it binds every interface on the port it is given (a free loopback port);
// it holds only throw-away test keys, and any credentials are accepted.
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { join } from 'node:path';
import { startServer, type RunningServer } from './process-server.ts';

export interface LocalKms extends RunningServer {
  readonly endpoint: string;
}

/** local-kms's default region and account, named so ARNs in tests are predictable. */
export const LOCAL_KMS_REGION = 'eu-west-2';
export const LOCAL_KMS_ACCOUNT = '111122223333';

export async function startLocalKms(bin: string): Promise<LocalKms> {
  const server = await startServer({
    name: 'local-kms',
    bin,
    args: () => [],
    env: (port, dataDir) => ({
      PORT: String(port),
      KMS_DATA_PATH: join(dataDir, 'data'),
      // No seed file: keys are made per test.
      KMS_SEED_PATH: join(dataDir, 'no-seed.yaml'),
      KMS_REGION: LOCAL_KMS_REGION,
      KMS_ACCOUNT_ID: LOCAL_KMS_ACCOUNT,
    }),
    ready: async (port) => {
      // Any KMS call answers once it listens; ListKeys needs no key.
      const response = await fetch(`http://127.0.0.1:${port}/`, {
        method: 'POST',
        headers: { 'X-Amz-Target': 'TrentService.ListKeys', 'Content-Type': 'application/x-amz-json-1.1' },
        body: '{}',
      });
      return response.ok;
    },
  });
  return { ...server, endpoint: `http://127.0.0.1:${server.port}` };
}

/** A KMS client for the test server (local-kms takes any credentials). */
export function testKmsClient(endpoint: string): KMSClient {
  return new KMSClient({ endpoint, region: LOCAL_KMS_REGION, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
}

/** A new symmetric key, its ARN. */
export async function createTestKey(endpoint: string, description = 'mongo-pitr test'): Promise<string> {
  const client = testKmsClient(endpoint);
  try {
    const { KeyMetadata } = await client.send(new CreateKeyCommand({ Description: description }));
    const arn = KeyMetadata?.Arn;
    if (!arn) throw new Error('local-kms returned no key ARN');
    return arn;
  } finally {
    client.destroy();
  }
}
