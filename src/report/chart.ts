/**
 * The label distribution before (A) and after (B) as an inline SVG bar chart: one group of two
 * horizontal bars per label, each with its count written beside it, and the label whole (over as
 * many lines as it needs). Pure; every outside string
 * (labels, shown text already: incident-facts.ts) is escaped for SVG text and attributes. No script, no external reference: it renders
 * under the report's `default-src 'none'` content security policy.
 */
import { htmlShown } from './escape.js';
import { visibleCutIndex } from '../core/display.js';
import type { ChartRow } from './incident-facts.js';

/** Geometry of the chart, in CSS pixels. */
const WIDTH = 640;
const LABEL_WIDTH = 230;
const COUNT_WIDTH = 90;
const BAR = 14;
const ROW_GAP = 12;
const TOP = 28;
/** Space between a label's right end and its bars, in CSS pixels. */
const LABEL_GAP = 8;
/**
 * The widest a character of a label is taken to be, in CSS pixels: 1 em of the chart's 12 px text —
 * a full-width (CJK) letter, `W`, `@` or `m` in DejaVu Sans (about 0.97–1 em), the widest of the
 * usual fonts; a character above U+FFFF counts twice (two UTF-16 units).
 */
const MAX_GLYPH_PX = 12;
/**
 * Most UTF-16 units of a label on one line beside its bars, so that a line of the widest letters
 * still ends inside the chart; a longer label goes on over more lines. It was 22: a line of 22 `M`
 * (228 px) began 66 px left of the chart, out of sight, and `MMM…M` beside a poisoner's `WMM…M`
 * read alike. (A glyph wider than 1 em, such as U+FDFD, can still reach past the edge.)
 */
const MAX_LABEL_CHARS = Math.floor((LABEL_WIDTH - LABEL_GAP) / MAX_GLYPH_PX);
/** Height of one line of a label, in CSS pixels (12 px text). */
const LINE = 15;

/** A number as SVG writes it: at most one decimal, no exponent. */
function n(x: number): string {
  return (Math.round(x * 10) / 10).toFixed(1).replace(/\.0$/, '');
}

/**
 * A label (shown text: see incident-facts.ts, at most `MAX_SHOWN_CHARS` and its cut note) as lines
 * of at most {@link MAX_LABEL_CHARS} UTF-16 units, never split inside an escape or a surrogate
 * pair: drawn whole. It was cut to one line with `…`, and two labels that begin alike (a poisoner's
 * `positive_sentiment_higX` beside `positive_sentiment_high`) read as one.
 */
function labelLines(label: string): string[] {
  const lines: string[] = [];
  let rest = label;
  while (rest.length > MAX_LABEL_CHARS) {
    const end = Math.max(1, visibleCutIndex(rest, MAX_LABEL_CHARS));
    lines.push(rest.slice(0, end));
    rest = rest.slice(end);
  }
  lines.push(rest);
  return lines;
}

/**
 * The chart as an `<svg>` element. Each bar group is a `<g class="label-row">` with
 * `data-label` (the label), and its two counts are `<text class="count" data-side="a|b">N</text>`
 * (so a reader — or a test — can take the numbers from the page).
 * @param rows the rows to draw (see `chartRows`)
 */
export function renderChart(rows: readonly ChartRow[]): string {
  const max = Math.max(1, ...rows.map((r) => Math.max(r.a, r.b)));
  const scale = (WIDTH - LABEL_WIDTH - COUNT_WIDTH) / max;
  const lines = rows.map((r) => labelLines(r.label));
  // Each row is as tall as its two bars, or as its label's lines.
  const heights = lines.map((l) => Math.max(2 * BAR, l.length * LINE) + ROW_GAP);
  const height = TOP + heights.reduce((s, h) => s + h, 0) + 4;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-labelledby="chart-title" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}">`);
  out.push('<title id="chart-title">Records per label: before (A) and after (B)</title>');
  out.push(`<rect class="bar a" x="${LABEL_WIDTH}" y="4" width="12" height="12"/><text class="legend" x="${LABEL_WIDTH + 16}" y="14">before (A)</text>`);
  out.push(`<rect class="bar b" x="${LABEL_WIDTH + 110}" y="4" width="12" height="12"/><text class="legend" x="${LABEL_WIDTH + 126}" y="14">after (B)</text>`);
  let y = TOP;
  rows.forEach((r, i) => {
    const label = htmlShown(r.label);
    const text = (lines[i] as string[]).map((line, k) => `<tspan x="${LABEL_WIDTH - LABEL_GAP}" y="${n(y + BAR + 4 + k * LINE)}">${htmlShown(line)}</tspan>`).join('');
    out.push(`<g class="label-row${r.other ? ' other' : ''}" data-label="${label}"><title>${label}: ${r.a} before, ${r.b} after</title>`);
    out.push(`<text class="label" x="${LABEL_WIDTH - LABEL_GAP}" y="${n(y + BAR + 4)}" text-anchor="end">${text}</text>`);
    for (const [side, count, dy] of [['a', r.a, 0], ['b', r.b, BAR]] as const) {
      const w = count * scale;
      out.push(`<rect class="bar ${side}" x="${LABEL_WIDTH}" y="${n(y + dy)}" width="${n(w)}" height="${BAR - 1}"/>`);
      out.push(`<text class="count" data-side="${side}" x="${n(LABEL_WIDTH + w + 4)}" y="${n(y + dy + BAR - 3)}">${count}</text>`);
    }
    out.push('</g>');
    y += heights[i] as number;
  });
  out.push('</svg>');
  return out.join('\n');
}
