#!/usr/bin/env node
// Writes tabular/spamassassin.jsonl (one JSON object per e-mail of spamassassin-mini/, in file-name order):
// {"id": file name without ".txt", "label": "ham" | "spam" (its folder), "subject": the Subject
// header, "text": the whole message}. Messages that are not UTF-8 are read as ISO-8859-1 (byte for
// byte). Deterministic: running it again gives the same bytes.   node examples/make-spam-jsonl.mjs
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const src = join(here, 'spamassassin-mini');
const rows = [];
for (const label of ['ham', 'spam']) {
  for (const name of readdirSync(join(src, label)).sort()) {
    const bytes = readFileSync(join(src, label, name));
    const text = bytes.toString(isUtf8(bytes) ? 'utf8' : 'latin1');
    const subject = /^Subject:[ \t]*(.*)$/im.exec(text)?.[1]?.trim() ?? '';
    rows.push({ id: name.replace(/\.txt$/, ''), label, subject, text });
  }
}
rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
writeFileSync(join(here, 'tabular', 'spamassassin.jsonl'), rows.map((r) => JSON.stringify(r) + '\n').join(''));
console.log(`wrote ${rows.length} records to ${join(here, 'tabular', 'spamassassin.jsonl')}`);
