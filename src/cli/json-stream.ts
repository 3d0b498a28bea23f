/**
 * A `--json` document written to stdout as it is produced — `log --json`, and `prune --json` and
 * `fsck --json` past their first 1,000 entries —, so that memory stays bounded however long its
 * lists are. Its text is the bytes `jsonDocument` (json-stdout.ts) would give for the same object
 * — `JSON.stringify(value, null, 2)`, one LF, the code points of `escapeJsonForTerminal` escaped —
 * with its members in the order they are written: `ok` last, since a streamed document does not
 * know its verdict when it begins.
 *
 * A document stopped once begun (Ctrl-C, an I/O error) cannot be taken back: {@link JsonStream.fail}
 * ends it with what was written so far, every list and object still open closed, then
 * `"ok": false` and the `error` (`{code, message, details?}`, as runCli's error document gives it),
 * still one document, and marks the error as reported in it so that runCli writes no second one.
 * A reader that went away (EPIPE) fails no write: stdout is then destroyed and the rest of the
 * document dropped (broken-pipe.ts), and the command runs to its end.
 *
 * Text is gathered, and written — one write, then a wait for `drain` if the stream asks for one —
 * once {@link JsonStream.chunkChars} characters are gathered, as checked at each *step*: a list
 * opened ({@link JsonStream.openList}), an item, a list closed, the end. Members and objects opened
 * or closed are gathered with the next step. A list's `[` is gathered with its first item, or with
 * its close as `[]`.
 */
import { commandErrorOf, jsonErrorOf, reportedInJson, writeWaitingForDrain } from './common.js';
import { escapeJsonForTerminal } from './json-stdout.js';
import { checkInterrupted } from '../io/interrupt.js';

/** Text is gathered up to this many characters before a write (and a wait for `drain`). */
export const JSON_STREAM_CHUNK_CHARS = 1 << 16;

/** `JSON.stringify`'s indentation, one level. */
const INDENT = '  ';

/**
 * `value` as `JSON.stringify(value, null, 2)` writes it nested `depth` levels in (each line after
 * the first indented by `depth` levels), terminal controls escaped as every document on stdout
 * (json-stdout.ts `escapeJsonForTerminal`).
 * @returns undefined for a value JSON.stringify leaves out (undefined, a function, a symbol)
 */
export function nestedJson(value: unknown, depth: number): string | undefined {
  const text = JSON.stringify(value, null, 2) as string | undefined;
  return text === undefined ? undefined : escapeJsonForTerminal(text).replace(/\n/g, `\n${INDENT.repeat(depth)}`);
}

/** How {@link JsonStream} is to write. */
export interface JsonStreamOptions {
  /** Call `checkInterrupted` before each item: a Ctrl-C (or SIGTERM) stops a long list there. */
  checkInterrupts?: boolean;
  /**
   * A failure before anything reached the stream drops the text gathered so far: {@link
   * JsonStream.fail} then returns the error as it is, and runCli's error document is the whole
   * output (fsck). Without it, a document is begun, and a failure ends it, once any text is gathered.
   */
  dropUnwritten?: boolean;
  /** Write once this many characters are gathered (default {@link JSON_STREAM_CHUNK_CHARS}). */
  chunkChars?: number;
}

/** An object or list still open, and how many members or items it has. */
interface Frame {
  kind: 'object' | 'list';
  count: number;
}

/**
 * One `--json` document streamed to `out` (see the module comment). Calls follow the document:
 * {@link open}, then {@link member}, {@link openObject} / {@link closeObject}, {@link openList},
 * {@link item} …, {@link closeList}, in the order the text is to read, and {@link end} with the
 * last members (`ok`). Usage errors (a member in a list, an item outside one) throw `Error`.
 */
export class JsonStream {
  /** The objects and lists open, the document itself first. */
  private readonly stack: Frame[] = [];
  private pending = '';
  private gathered = false;
  private written = false;
  readonly chunkChars: number;

  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly options: JsonStreamOptions = {},
  ) {
    this.chunkChars = options.chunkChars ?? JSON_STREAM_CHUNK_CHARS;
  }

  /** Whether the document has begun: a failure then ends it ({@link fail}) instead of leaving runCli to write its own. */
  get begun(): boolean {
    return this.options.dropUnwritten ? this.written : this.gathered;
  }

  /** Begin the document: `{`. */
  open(): this {
    if (this.stack.length > 0 || this.gathered) throw new Error('JsonStream: the document is already open');
    this.gather('{');
    this.stack.push({ kind: 'object', count: 0 });
    return this;
  }

  /** A member of the innermost object, `"key": value` (left out, as JSON.stringify leaves it, when `value` is undefined). */
  member(key: string, value: unknown): this {
    const text = nestedJson(value, this.stack.length);
    if (text !== undefined) this.gather(`${this.keyed(key)}${text}`);
    return this;
  }

  /** The members of `members`, in their order ({@link member}). */
  members(members: Record<string, unknown>): this {
    for (const [k, v] of Object.entries(members)) this.member(k, v);
    return this;
  }

  /** Open an object as the member `key` of the innermost object. */
  openObject(key: string): this {
    this.gather(`${this.keyed(key)}{`);
    this.stack.push({ kind: 'object', count: 0 });
    return this;
  }

  /** Close the innermost object, which must not be the document itself ({@link end} closes that). */
  closeObject(): this {
    const f = this.top('object');
    if (this.stack.length === 1) throw new Error('JsonStream: end() closes the document');
    this.gather(this.closing(f));
    this.stack.pop();
    return this;
  }

  /** Open a list as the member `key` of the innermost object (a step: its `[` comes with its first item or its close). */
  async openList(key: string): Promise<void> {
    this.gather(this.keyed(key));
    this.stack.push({ kind: 'list', count: 0 });
    await this.step();
  }

  /** An item of the innermost list (a step; `checkInterrupted` first, with `checkInterrupts`). */
  async item(value: unknown): Promise<void> {
    if (this.options.checkInterrupts) checkInterrupted();
    const f = this.top('list');
    const depth = this.stack.length;
    // In a list, JSON.stringify writes what it leaves out of an object as null.
    this.gather(`${f.count++ === 0 ? '[' : ','}\n${INDENT.repeat(depth)}${nestedJson(value, depth) ?? 'null'}`);
    await this.step();
  }

  /** Close the innermost list (a step). */
  async closeList(): Promise<void> {
    this.gather(this.closing(this.top('list')));
    this.stack.pop();
    await this.step();
  }

  /**
   * End the document (a step): every list and object still open closed, then `last`'s members
   * (`ok` last among them), `}` and a line end; the text gathered is written.
   */
  async end(last: Record<string, unknown>): Promise<void> {
    this.gather(this.endText(last));
    await this.step();
    this.flushNow();
  }

  /**
   * The error to throw once the command stopped on `e`. A document begun ({@link begun}) is ended
   * there — what was gathered, every list and object closed, `"ok": false` and the `error` — and
   * the error, as runCli reports it (`commandErrorOf`: `INTERRUPTED` once a signal came), is marked
   * as reported in it. Else `e` is returned as it is, and nothing gathered is written.
   */
  fail(e: unknown): unknown {
    if (!this.begun) return e;
    const err = commandErrorOf(e);
    this.gather(this.endText({ ok: false, error: jsonErrorOf(err) }));
    this.flushNow();
    return reportedInJson(err);
  }

  /** The text that closes every frame but the document, writes `last` into the document and closes it. */
  private endText(last: Record<string, unknown>): string {
    if (this.stack.length === 0) throw new Error('JsonStream: the document is not open');
    let text = '';
    for (; this.stack.length > 1; this.stack.pop()) text += this.closing(this.stack[this.stack.length - 1] as Frame);
    const doc = this.stack[0] as Frame;
    for (const [k, v] of Object.entries(last)) {
      const value = nestedJson(v, 1);
      if (value !== undefined) text += `${doc.count++ === 0 ? '' : ','}\n${INDENT}${JSON.stringify(k)}: ${value}`;
    }
    this.stack.pop();
    return `${text}${doc.count === 0 ? '}' : '\n}'}\n`;
  }

  /** The text closing `f` (the innermost frame, not yet popped). */
  private closing(f: Frame): string {
    const depth = this.stack.length - 1;
    if (f.kind === 'list') return f.count === 0 ? '[]' : `\n${INDENT.repeat(depth)}]`;
    return f.count === 0 ? '}' : `\n${INDENT.repeat(depth)}}`;
  }

  /** `"key": ` as the next member of the innermost object, after its separator and indentation. */
  private keyed(key: string): string {
    const f = this.top('object');
    return `${f.count++ === 0 ? '' : ','}\n${INDENT.repeat(this.stack.length)}${escapeJsonForTerminal(JSON.stringify(key))}: `;
  }

  private top(kind: Frame['kind']): Frame {
    const f = this.stack[this.stack.length - 1];
    if (f?.kind !== kind) throw new Error(`JsonStream: ${f ? `in a ${f.kind}` : 'no document open'}, where ${kind === 'list' ? 'a list' : 'an object'} was expected`);
    return f;
  }

  private gather(text: string): void {
    this.pending += text;
    this.gathered = true;
  }

  /** Write the text gathered once there is at least {@link chunkChars} of it, and wait for `drain` if asked. */
  private async step(): Promise<void> {
    if (this.pending.length < this.chunkChars) return;
    const text = this.pending;
    this.pending = '';
    this.written = true;
    await writeWaitingForDrain(this.out, text);
  }

  /** Write what is gathered, without waiting. */
  private flushNow(): void {
    if (this.pending.length === 0) return;
    const text = this.pending;
    this.pending = '';
    this.written = true;
    this.out.write(text);
  }
}
