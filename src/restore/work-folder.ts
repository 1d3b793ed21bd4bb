// The restore's temporary folder (a partial copy of the backup): removed when the restore ends,
// whichever way, and also if the process exits without unwinding (process.exit), so that no
// exit path leaves a copy of the backup behind. A SIGINT/SIGTERM aborts the restore's signal and
// unwinds through the caller's finally, which removes it.
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';

export interface WorkFolder {
  readonly path: string;
  remove(): Promise<void>;
}

export async function createWorkFolder(parent: string, prefix = 'mongo-pitr-restore-'): Promise<WorkFolder> {
  const path = await mkdtemp(join(parent, prefix));
  const onExit = (): void => rmSync(path, { recursive: true, force: true });
  process.once('exit', onExit);
  return {
    path,
    async remove() {
      process.removeListener('exit', onExit);
      await rm(path, { recursive: true, force: true, maxRetries: 3 });
    },
  };
}
