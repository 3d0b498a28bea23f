/**
 * Asking for a key passphrase on the terminal (SPEC §6: from an environment variable or a prompt,
 * never from a command-line argument). The typed characters are not echoed.
 */
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { SnapError } from '../core/errors.js';
import { interrupt, interruptedError } from '../io/interrupt.js';

/**
 * Read a passphrase from `input` (a terminal), writing `question` to `output` and echoing nothing.
 * @param confirm ask twice and require the same answer (for a new key)
 * @throws SnapError `KEY_PASSPHRASE_REQUIRED` when `input` is not a terminal, the answer is empty,
 *   the input ends, or the two answers differ | `INTERRUPTED` (Ctrl-C at the prompt)
 */
export async function promptPassphrase(
  question: string,
  opts: { input?: NodeJS.ReadStream; output?: NodeJS.WriteStream; confirm?: boolean } = {},
): Promise<string> {
  const input = opts.input ?? process.stdin;
  const output = opts.output ?? process.stderr;
  if (!input.isTTY) {
    throw new SnapError('KEY_PASSPHRASE_REQUIRED', 'the key needs a passphrase: set it in an environment variable and pass --passphrase-env VAR (no terminal to ask on)');
  }
  const ask = (q: string) =>
    new Promise<string>((resolve, reject) => {
      let muted = false;
      let answered = false;
      const sink = new Writable({
        write(chunk, _enc, done) {
          if (!muted) output.write(chunk);
          done();
        },
      });
      const rl = createInterface({ input, output: sink, terminal: true });
      // The terminal is in raw mode: Ctrl-C arrives here as a key, not as a signal.
      rl.on('SIGINT', () => {
        answered = true;
        rl.close();
        output.write('\n');
        void interrupt('SIGINT');
        reject(interruptedError('SIGINT'));
      });
      rl.on('close', () => {
        if (!answered) reject(new SnapError('KEY_PASSPHRASE_REQUIRED', 'no passphrase was given (end of input)'));
      });
      rl.question(q, (answer) => {
        answered = true;
        rl.close();
        output.write('\n');
        resolve(answer);
      });
      muted = true;
    });
  const first = await ask(question);
  if (first === '') throw new SnapError('KEY_PASSPHRASE_REQUIRED', 'an empty passphrase was given');
  if (opts.confirm && (await ask('again: ')) !== first) throw new SnapError('KEY_PASSPHRASE_REQUIRED', 'the two passphrases differ');
  return first;
}
