// A backup holds every document of the cluster, so whatever mongo-pitr writes to a local disk
// (the folder store, a restore's downloads, an export's staging) is readable by its owner only.
// Modes are passed at creation: the umask can only clear bits, never add them, so the result is
// never more open than these whatever the umask (and no window exists where it is more open).

/** Folders: owner may list, create and traverse; nobody else anything. */
export const PRIVATE_DIR_MODE = 0o700;
/** Files: owner may read and write; nobody else anything. */
export const PRIVATE_FILE_MODE = 0o600;

/** True when group or others have any permission bit in `mode` (from fs.Stats). */
export function isOpenToOthers(mode: number): boolean {
  return (mode & 0o077) !== 0;
}

/** The octal permission bits, e.g. "0755". */
export function formatMode(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, '0')}`;
}
