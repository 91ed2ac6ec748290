/**
 * Parses a Retry-After header (RFC 9110 §10.2.3): delta-seconds, which the OSB spec recommends,
 * or an HTTP-date, which it still allows. Returns whole seconds from `now` (a date in the past
 * gives 0), or undefined when the header is absent or unparseable.
 */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const raw = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!raw) return undefined;
  if (/^\d+$/.test(raw)) return Number(raw);
  // Date.parse accepts far more than HTTP-dates; require the IMF-fixdate shape or the two obsolete
  // forms (RFC 850, asctime) so that arbitrary text is not read as a date.
  const httpDate =
    /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(raw) ||
    /^[A-Z][a-z]+, \d{2}-[A-Z][a-z]{2}-\d{2} \d{2}:\d{2}:\d{2} GMT$/.test(raw) ||
    /^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/.test(raw);
  if (!httpDate) return undefined;
  const at = Date.parse(/GMT$/.test(raw) ? raw : `${raw} GMT`);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - now) / 1000));
}
