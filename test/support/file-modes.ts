// Walks a folder and reports every entry whose permission bits differ from the private ones
// (src/private-mode.ts): folders 0700, files 0600. Synchronous on purpose: a test can call it
// from a synchronous hook (a restore's onStage) while the folder it looks at still exists.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface ModeReport {
  /** "<path> 0<mode>" for every folder not 0700 and file not 0600 at or below the root. */
  readonly wrong: string[];
  /** Entries looked at, root included, so a test can tell it saw something. */
  readonly entries: number;
}

export function modeReport(root: string): ModeReport {
  const wrong: string[] = [];
  let entries = 0;
  const visit = (path: string): void => {
    const info = statSync(path);
    const mode = info.mode & 0o777;
    entries++;
    if (info.isDirectory()) {
      if (mode !== 0o700) wrong.push(`${path} 0${mode.toString(8)}`);
      for (const name of readdirSync(path)) visit(join(path, name));
    } else if (mode !== 0o600) {
      wrong.push(`${path} 0${mode.toString(8)}`);
    }
  };
  visit(root);
  return { wrong, entries };
}
