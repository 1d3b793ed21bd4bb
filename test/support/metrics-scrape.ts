// Reading a Prometheus text exposition (what --metrics-addr serves) into samples keyed
// "name{labels}", the labels in name order so a key does not depend on the order a series
// declared them in ("name" alone for a series without labels).
const SAMPLE_LINE = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})? (\S+)$/;

export function parseSamples(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = SAMPLE_LINE.exec(line);
    if (!match?.[1] || !match[3]) continue;
    const labels = (match[2] ?? '').split(',').filter(Boolean).sort().join(',');
    samples.set(labels ? `${match[1]}{${labels}}` : match[1], Number(match[3]));
  }
  return samples;
}

/** One scrape's samples, or undefined when nothing answers (yet, or any more) or not with 200. */
export async function scrapeSamples(url: string, timeoutMs: number): Promise<Map<string, number> | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return response.status === 200 ? parseSamples(await response.text()) : undefined;
  } catch {
    return undefined;
  }
}
