/**
 * Durations and dates as users type them for `seal --expires`, `policy … --expires`, and a
 * policy's maximum snapshot age: `90d`, `12h`, `2w`, a date `2027-01-31` (midnight UTC) or an
 * RFC 3339 UTC time with whole seconds `2027-01-31T12:00:00Z`. Times are written back as RFC 3339
 * UTC with whole seconds (SPEC §4).
 */
import { SnapError } from './errors.js';
import { formatTime, isValidTime } from './statement.js';

/** Seconds per unit of a duration: h(our), d(ay), w(eek). */
const UNIT_SECONDS: Record<string, number> = { h: 3600, d: 86_400, w: 604_800 };
/** Longest duration accepted, in days (100 years): far beyond any sensible expiry, and still a safe date. */
export const MAX_DURATION_DAYS = 36_500;
const DURATION_RE = /^([1-9][0-9]{0,6})([hdw])$/;
const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * A duration such as `90d`, in seconds.
 * @throws SnapError `USAGE` when it is not `<N>h`, `<N>d` or `<N>w` (N ≥ 1), or longer than {@link MAX_DURATION_DAYS}
 */
export function parseDuration(text: string, what: string): number {
  const m = DURATION_RE.exec(text);
  if (!m) throw new SnapError('USAGE', `${what} ${JSON.stringify(text)}: give a duration like 90d, 12h or 2w`);
  const seconds = Number(m[1]) * (UNIT_SECONDS[m[2] as string] as number);
  if (seconds > MAX_DURATION_DAYS * 86_400) throw new SnapError('USAGE', `${what} ${text} is longer than ${MAX_DURATION_DAYS} days`);
  return seconds;
}

/**
 * A point in time given as a duration from `now` (`90d`) or as a date or time (see the module
 * comment), as RFC 3339 UTC with whole seconds; it must lie after `now`.
 * @throws SnapError `USAGE` when it does not parse, names no real date, or is not in the future
 */
export function parseExpiry(text: string, now: Date, what = '--expires'): string {
  let t: string;
  if (DURATION_RE.test(text)) t = formatTime(new Date(Math.floor(now.getTime() / 1000) * 1000 + parseDuration(text, what) * 1000));
  else if (DATE_RE.test(text) && isValidTime(`${text}T00:00:00Z`)) t = `${text}T00:00:00Z`;
  else if (isValidTime(text)) t = text;
  else throw new SnapError('USAGE', `${what} ${JSON.stringify(text)}: give a duration (90d, 12h, 2w), a date (2027-01-31) or an RFC 3339 UTC time (2027-01-31T12:00:00Z)`);
  if (new Date(t).getTime() <= now.getTime()) throw new SnapError('USAGE', `${what} ${text} (${t}) is not in the future`);
  if (new Date(t).getTime() - now.getTime() > MAX_DURATION_DAYS * 86_400_000) throw new SnapError('USAGE', `${what} ${text} is more than ${MAX_DURATION_DAYS} days away`);
  return t;
}
