// Counts with their noun in the right number ("1 chunk", "2 chunks"), for every line a person
// reads: receipts, stage lines, status. One place, so that no line says "1 chunks"; and instants
// as every such line gives them, local time first with UTC beside it.

/** "1 chunk", "3 chunks", "1 entry", "2 entries", with thousands separators. */
export function counted(count: number, singular: string, plural = `${singular}s`): string {
  return `${count.toLocaleString('en')} ${count === 1 ? singular : plural}`;
}

/**
 * "2026-12-01 17:02:03 GMT+1 (16:02:03 UTC)": local first, UTC beside it (its date only when it
 * differs); one time when the local zone is UTC.
 */
export function instantText(ms: number, options: { readonly timeZone?: string; readonly milliseconds?: boolean }): string {
  // A cutoff typed to the millisecond is decided by wall clock: its receipt shows them.
  const fraction = options.milliseconds ? `.${String(((ms % 1000) + 1000) % 1000).padStart(3, '0')}` : '';
  const parts = localParts(ms, options.timeZone);
  const local = { ...parts, time: `${parts.time}${fraction}` };
  const utc = new Date(ms).toISOString();
  const utcDay = utc.slice(0, 10);
  const utcTime = utc.slice(11, options.milliseconds ? 23 : 19);
  const localText = `${local.day} ${local.time} ${local.zone}`;
  if (local.day === utcDay && local.time === utcTime) return `${local.day} ${local.time} UTC`;
  return `${localText} (${local.day === utcDay ? '' : `${utcDay} `}${utcTime} UTC)`;
}

export function localParts(ms: number, timeZone: string | undefined): { day: string; time: string; zone: string } {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
    timeZoneName: 'short',
  }).formatToParts(new Date(ms));
  const part = (type: string) => parts.find((entry) => entry.type === type)?.value ?? '';
  return { day: `${part('year')}-${part('month')}-${part('day')}`, time: `${part('hour')}:${part('minute')}:${part('second')}`, zone: part('timeZoneName') };
}

