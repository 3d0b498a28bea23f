/**
 * The frame every HTML report shares: one self-contained document — inline CSS, no script, no
 * external URL — under a content security policy that forbids loading anything
 * (`default-src 'none'`), so the page cannot reach the network even if a name in it tried to.
 * Outside text may break anywhere (`overflow-wrap: anywhere`: in `code`, and in a table cell as
 * {@link htmlText}, which also lowers the cell's smallest width), so a long name without a space
 * cannot widen a table past the window and push the verdict column out of sight; our own words
 * (headers, MISSED) still break only between words. Every space of outside text is kept
 * (`white-space: pre-wrap` where it is written, `pre` in the chart): HTML collapses a run of spaces
 * into one, and a label `very  good` read as `very good`, a flip to it as no change. The elements
 * so styled hold no line break of the page's own source, so they show no more space than before.
 * And every character of it is drawn in its order, left to right, as a terminal prints it
 * (`unicode-bidi: bidi-override`, CSS Writing Modes 3 §2.2): the bidirectional algorithm drew
 * letters of a right-to-left script with the digits and `/` beside them reversed, so that
 * `ham/\u05d0/2` (a file `2` in a Hebrew folder) was drawn as `ham/2/\u05d0` is, and `1\u05d0` as
 * `\u05d01` is. A word of such a script is then drawn letter by letter from the left.
 * Pure: strings in, a string out.
 */
import { html, htmlShown } from './escape.js';
import { TOOL_NAME, TOOL_VERSION } from '../version.js';
import type { Capped } from './incident-facts.js';

/** The content security policy of every report (W3C CSP Level 3): nothing may be loaded; inline styles and data: images only. */
export const REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

const CSS = `
:root { color-scheme: light; --ok: #1a7f37; --bad: #b42318; --warn: #9a6700; --muted: #57606a; --line: #d0d7de; --a: #6e7781; --b: #d1242f; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; color: #1f2328; margin: 0 auto; max-width: 980px; padding: 24px; }
h1 { font-size: 22px; margin: 0 0 12px; }
h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
code, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "Liberation Mono", monospace; font-size: 13px; overflow-wrap: anywhere; }
.verdict { border-radius: 6px; padding: 14px 16px; margin: 8px 0 16px; border: 2px solid; }
.verdict strong { font-size: 20px; letter-spacing: .02em; }
.verdict.ok { border-color: var(--ok); background: #dafbe1; }
.verdict.bad { border-color: var(--bad); background: #ffebe9; }
.verdict.warn { border-color: var(--warn); background: #fff8c5; }
table { border-collapse: collapse; width: 100%; margin: 6px 0; }
th, td { text-align: left; vertical-align: top; padding: 4px 8px; border-bottom: 1px solid var(--line); }
h1, p, pre, .verdict, .text { overflow-wrap: anywhere; }
code, h1, p, .verdict, .text { white-space: pre-wrap; unicode-bidi: bidi-override; direction: ltr; }
th { background: #f6f8fa; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.more { color: var(--muted); font-style: italic; margin: 4px 0 10px; }
.trusted { color: var(--ok); font-weight: 600; }
.untrusted { color: var(--bad); font-weight: 600; }
.unchecked { color: var(--warn); font-weight: 600; }
.cmd { background: #0d1117; color: #e6edf3; padding: 10px 12px; border-radius: 6px; white-space: pre-wrap; overflow-wrap: anywhere; }
.chart .bar.a { fill: var(--a); }
.chart .bar.b { fill: var(--b); }
.chart text { font: 12px system-ui, sans-serif; fill: #1f2328; white-space: pre; unicode-bidi: bidi-override; direction: ltr; }
.chart .other text.label { font-style: italic; }
footer { margin-top: 32px; color: var(--muted); font-size: 12px; }
@media print { body { max-width: none; } .verdict { break-inside: avoid; } }
`.trim();

/**
 * A whole HTML document.
 * @param title shown text — names in it made visible already (`escapeForTerminal` …) — HTML-escaped here (`htmlShown`)
 * @param body HTML, already escaped by the caller
 */
export function htmlPage(title: string, body: string): string {
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${html(REPORT_CSP)}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="referrer" content="no-referrer">',
    `<title>${htmlShown(title)}</title>`,
    `<style>\n${CSS}\n</style>`,
    '</head>',
    '<body>',
    body,
    `<footer>Made by ${html(TOOL_NAME)} ${html(TOOL_VERSION)}. This page is self-contained: it loads nothing and runs no script. Names from the data are shown escaped (control and bidirectional characters as \\xNN / \\uNNNN).</footer>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/**
 * A table: `head` plain text (escaped here), `rows` of cells that are HTML already. A cell whose
 * text starts with `#` is right-aligned as a number (the `#` is dropped).
 */
export function htmlTable(head: readonly string[], rows: readonly (readonly string[])[], id?: string): string {
  const cell = (tag: 'td' | 'th', c: string) => (c.startsWith('#') ? `<${tag} class="num">${c.slice(1)}</${tag}>` : `<${tag}>${c}</${tag}>`);
  return [
    `<table${id ? ` id="${html(id)}"` : ''}>`,
    `<thead><tr>${head.map((h) => cell('th', h.startsWith('#') ? `#${html(h.slice(1))}` : html(h))).join('')}</tr></thead>`,
    '<tbody>',
    ...rows.map((r) => `<tr>${r.map((c) => cell('td', c)).join('')}</tr>`),
    '</tbody>',
    '</table>',
  ].join('\n');
}

/** Text for a table cell that may hold a long name (HTML already escaped): allowed to break anywhere. */
export function htmlText(escaped: string): string {
  return `<span class="text">${escaped}</span>`;
}

/** The "and N more" line of a capped list ('' when nothing was left out). */
export function moreLine(c: Capped<unknown>, hint: string): string {
  const rest = c.total - c.items.length;
  return rest > 0 ? `<p class="more">… and ${rest} more (the first ${c.items.length} are shown; ${html(hint)})</p>` : '';
}

/** A number as a report writes it: up to 4 decimals, or 3 significant digits in exponent form below 0.0001. */
export function formatStat(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  if (x !== 0 && Math.abs(x) < 1e-4) return x.toExponential(2);
  return x.toFixed(4);
}
