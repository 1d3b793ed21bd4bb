// MinIO, the S3-compatible server users named, with its own credentials and one bucket.
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { startServer, freePort, type RunningServer } from './process-server.ts';

export interface Minio extends RunningServer {
  readonly endpoint: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly bucket: string;
}

export async function startMinio(bin: string): Promise<Minio> {
  const accessKeyId = `pitr${randomBytes(4).toString('hex')}`;
  const secretAccessKey = randomBytes(16).toString('hex');
  const consolePort = await freePort();
  const server = await startServer({
    name: 'minio',
    bin,
    args: (port, dataDir) => [
      'server',
      dataDir,
      '--quiet',
      '--address',
      `127.0.0.1:${port}`,
      '--console-address',
      `127.0.0.1:${consolePort}`,
    ],
    env: {
      MINIO_ROOT_USER: accessKeyId,
      MINIO_ROOT_PASSWORD: secretAccessKey,
      MINIO_BROWSER: 'off',
      MINIO_UPDATE: 'off',
    },
    ready: async (port) => {
      const response = await fetch(`http://127.0.0.1:${port}/minio/health/ready`);
      return response.ok;
    },
  });
  const endpoint = `http://127.0.0.1:${server.port}`;
  const bucket = 'mongo-pitr-test';
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
  });
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } finally {
    client.destroy();
  }
  return { ...server, endpoint, accessKeyId, secretAccessKey, bucket };
}
