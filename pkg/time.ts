/**
 * Go's time package as Kubernetes uses it: metav1.Time and MicroTime text, and time.ParseDuration
 * for flags and API fields (metav1.Duration).
 */

/** metav1.Time: RFC 3339 in whole seconds, UTC (`2024-05-01T12:00:00Z`); now when no time is given. */
export function rfc3339(ms: number = Date.now()): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * metav1.MicroTime: RFC 3339 with six fractional digits (`2024-05-01T12:00:00.123000Z`). `micros`
 * (0-999999) gives the fraction when the time is known more precisely than `ms` can say.
 */
export function rfc3339Micro(ms: number = Date.now(), micros?: number): string {
  const second = Math.floor(ms / 1000) * 1000;
  const fraction = micros ?? (ms - second) * 1000;
  return `${rfc3339(second).slice(0, -1)}.${String(fraction).padStart(6, '0')}Z`;
}

/** Milliseconds per unit of Go's duration syntax (µs is U+00B5, μs U+03BC). */
const durationUnits: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * Milliseconds of a Go duration ("1h30m", "15m0s", "1.5s", "-2m", "0"), or undefined when it does
 * not parse. The grammar is time.ParseDuration's: an optional sign, then one or more decimal
 * numbers (digits before or after the point, or both) each followed by a unit; "0" alone needs none.
 */
export function parseDuration(s: string): number | undefined {
  const m = /^([-+]?)(.*)$/s.exec(s)!;
  const sign = m[1] === '-' ? -1 : 1;
  const body = m[2];
  if (body === '0') return 0;
  if (body === '') return undefined;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;
  let total = 0;
  let consumed = 0;
  let part: RegExpExecArray | null;
  while ((part = re.exec(body)) !== null) {
    total += parseFloat(part[1]) * durationUnits[part[2]];
    consumed = re.lastIndex;
  }
  return consumed === body.length ? sign * total : undefined;
}
