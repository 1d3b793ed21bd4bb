// Counts with their noun in the right number ("1 chunk", "2 chunks"), for every line a person
// reads: receipts, stage lines, status. One place, so that no line says "1 chunks".

/** "1 chunk", "3 chunks", "1 entry", "2 entries", with thousands separators. */
export function counted(count: number, singular: string, plural = `${singular}s`): string {
  return `${count.toLocaleString('en')} ${count === 1 ? singular : plural}`;
}
