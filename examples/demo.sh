#!/usr/bin/env bash
# End-to-end demo of snap as a pre-training gate: seal a labelled dataset, verify it, poison it
# (flip one label, inject one file), watch verify refuse it, then diff the two snapshots; end
# with models attested as trained on v1 and on v2, and the impact of v2: the model to retrain;
# drills: known attacks planted in a private copy, to see that the gate catches each; and finally
# the incident report (one HTML page) of v1 → v2, kept after the demo, printing where it is.
# Run from the repo root after `npm run build`:  npm run demo   (or: bash examples/demo.sh)
set -euo pipefail
export LC_ALL=C # byte order for globs, so "the first spam file" is well defined

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CLI="$ROOT/dist/cli/main.js"

fail() { echo "demo FAILED: $*" >&2; exit 1; }
step() { printf '\n==> %s\n' "$*"; }
snap() { node "$CLI" "$@"; }

# run CODE ARGS...: run `snap ARGS...`, show its output, stop the demo unless it exits with CODE.
run() {
  local want=$1 rc=0
  shift
  out=$(snap "$@" 2>&1) || rc=$?
  printf '%s\n' "$out" | sed 's/^/    /'
  [ "$rc" -eq "$want" ] || fail "'snap $*' exited $rc, expected $want"
}
# mentions PATH...: the last command's output must name every PATH.
mentions() {
  local p
  for p in "$@"; do grep -qF -- "$p" <<<"$out" || fail "the output does not name $p"; done
}

[ -f "$CLI" ] || fail "$CLI not found; run 'npm run build' first"

T=$(mktemp -d)
cleanup() { chmod -R u+w "$T" 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT
KEYS="$T/keys" DATA="$T/data" STORE="$T/store"

step "1. make a signing key"
run 0 keygen demo --out-dir "$KEYS"

step "2. copy the example dataset (label = folder: ham/ or spam/)"
cp -r "$ROOT/examples/spamassassin-mini" "$DATA"
chmod -R u+w "$DATA"
echo "    $(find "$DATA/ham" -type f | wc -l) ham, $(find "$DATA/spam" -type f | wc -l) spam"

step "3. seal it as spam-mini@v1"
run 0 seal "$DATA" --as spam-mini@v1 --key "$KEYS/demo.key" --store "$STORE"

step "4. verify the clean data (expect exit 0)"
run 0 verify "$DATA" --against spam-mini@v1 --pubkey "$KEYS/demo.pub" --store "$STORE"

step "5. poison the data: flip one label, inject one file"
spam=("$DATA"/spam/*)
first=${spam[0]##*/}
mv "$DATA/spam/$first" "$DATA/ham/$first"
printf 'Subject: totally legit\n\nThis message was planted in ham/ after the data was sealed.\n' \
  >"$DATA/ham/injected.eml"
echo "    moved spam/$first -> ham/$first; added ham/injected.eml"

step "6. verify the poisoned data (expect exit 1, naming every changed file)"
run 1 verify "$DATA" --against spam-mini@v1 --pubkey "$KEYS/demo.pub" --store "$STORE"
mentions "spam/$first" "ham/$first" "ham/injected.eml"

step "7. seal the poisoned data as spam-mini@v2"
run 0 seal "$DATA" --as spam-mini@v2 --key "$KEYS/demo.key" --store "$STORE"

step "8. diff v1 and v2 (expect exit 1: differences found)"
run 1 diff spam-mini@v1 spam-mini@v2 --store "$STORE"
mentions "spam/$first" "ham/$first" "ham/injected.eml"

step "9. attest a tiny model trained on v1, and one retrained on the poisoned v2"
printf 'weights trained on v1\n' >"$T/spam-clf.bin"
printf 'weights trained on v2\n' >"$T/spam-clf-nightly.bin"
run 0 attest "$T/spam-clf.bin" --data spam-mini@v1 --as spam-clf@1.0 --key "$KEYS/demo.key" --pubkey "$KEYS/demo.pub" --store "$STORE"
run 0 attest "$T/spam-clf-nightly.bin" --data spam-mini@v2 --as spam-clf@nightly --key "$KEYS/demo.key" --pubkey "$KEYS/demo.pub" --store "$STORE"
run 0 verify-model "$T/spam-clf.bin" --pubkey "$KEYS/demo.pub" --store "$STORE"
mentions spam-mini@v1

step "10. the incident question: which models learned from the poisoned v2? (spam-clf@nightly, not spam-clf@1.0)"
run 0 impact spam-mini@v2 --store "$STORE"
mentions spam-clf@nightly
grep -qF spam-clf@1.0 <<<"$out" && fail "impact of v2 names spam-clf@1.0, which was trained on v1"

step "11. drill: plant known attacks in a private copy of the data; the gate must catch every one (expect exit 0)"
before=$(cd "$DATA" && find . -type f -exec sha256sum {} + | sort | sha256sum)
run 0 drill "$DATA" --against spam-mini@v2 --pubkey "$KEYS/demo.pub" --store "$STORE"
mentions label-folder-move lookalike-name "PASS"
[ "$(cd "$DATA" && find . -type f -exec sha256sum {} + | sort | sha256sum)" = "$before" ] || fail "the drill changed the data folder"

step "12. drill a dataset with record files: with record checks, every record attack is caught (exit 0) ..."
cp -r "$ROOT/examples/tabular" "$T/tabular"
run 0 seal "$T/tabular" --as tabular@v1 --key "$KEYS/demo.key" --store "$STORE"
run 0 drill "$T/tabular" --against tabular@v1 --pubkey "$KEYS/demo.pub" --store "$STORE" --attacks record-label-flip,feature-nudge,crlf
mentions records:flipped "PASS"
step "    ... and with them switched off, the same flip and nudge are misses (expect exit 1, naming them)"
run 1 drill "$T/tabular" --against tabular@v1 --pubkey "$KEYS/demo.pub" --store "$STORE" --attacks record-label-flip,feature-nudge,crlf --no-records
mentions "MISS  p1 record-label-flip" "MISS  p2 feature-nudge" "not configured"

step "13. write the incident report of v1 -> v2: one self-contained HTML page to read and forward (expect exit 1: they differ)"
REPORT_DIR=$(mktemp -d "${TMPDIR:-/tmp}/snap-demo-report.XXXXXX") # kept after the demo
REPORT="$REPORT_DIR/incident.html"
run 1 report spam-mini@v1 spam-mini@v2 --pubkey "$KEYS/demo.pub" --store "$STORE" -o "$REPORT"
for p in "ham/$first" "ham/injected.eml" 'data-verdict="changed"' 'data-label="ham"' 'data-label="spam"'; do
  grep -qF -- "$p" "$REPORT" || fail "the report does not contain $p"
done

printf '\ndemo passed: the gate accepted clean data and refused poisoned data; impact named the model to retrain; drills showed which attacks the gate catches\n'
printf 'the incident report is at %s (open it in a browser)\n' "$REPORT"
