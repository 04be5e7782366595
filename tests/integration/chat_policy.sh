#!/usr/bin/env bash
# hearth chat --context-policy: the conversation never silently outgrows the
# context. error refuses with the counts (checked against `hearth template` +
# `hearth tokenize`), drop-oldest drops whole old turns and keeps the system
# message, summarize replaces old turns by the summary the model writes
# (checked against `hearth run` on the summary request).
set -euo pipefail
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
root=$(cd "$(dirname "$0")/../.." && pwd)
vocab="$root/../shared/vocab/ggml-vocab-qwen2.gguf"
[ -f "$vocab" ] || vocab=/work/shared/vocab/ggml-vocab-qwen2.gguf
M="$tmp/m.gguf"
"$BUILD/genmodel" --arch qwen2 --type q8_0 --vocab "$vocab" -o "$M" >/dev/null
fail() { echo "FAIL: $*"; exit 1; }
CTX=128
chat() { "$HEARTH" chat -m "$M" --temp 0 -n 8 -c $CTX -t 2 --system "Be brief." "$@"; }
answered() { # DIR OUT: every saved conversation ends with an answer that was printed on stdout
  node -e 'const fs=require("fs"), [d,o]=process.argv.slice(1), out=fs.readFileSync(o,"utf8"); let n=0;
    for (const f of fs.readdirSync(d)) { const m=JSON.parse(fs.readFileSync(d+"/"+f)), a=m[m.length-1];
      if (a.role!=="assistant" || !out.includes(a.content+"\n")) { console.error("FAIL: "+f+": answer not printed"); process.exit(1); } n++; }
    console.log(n)' "$1" "$2"
}
script() { # one user line per turn, each followed by /save of the conversation so far
  for w in one two three four five six seven; do printf '%s\n/save %s/%s.json\n' "$w" "$tmp/$1" "$w"; done
}

# error: the turn that would overflow is refused, exit 1, with the counts.
mkdir "$tmp/e"
if script e | chat --context-policy error > "$tmp/e.out" 2> "$tmp/e.err"; then fail "error policy exited 0"; fi
msg=$(grep "context-policy error" "$tmp/e.err") || fail "no refusal: $(cat "$tmp/e.err")"
[[ $msg =~ takes\ ([0-9]+)\ tokens\ and\ the\ answer\ needs\ room\ for\ 8,\ more\ than\ the\ context\ of\ $CTX ]] ||
  fail "refusal without counts: $msg"
need=${BASH_REMATCH[1]}
last=$(ls -t "$tmp/e" | head -1)
# The refused conversation: the last saved one plus the next user message.
words=(one two three four five six seven)
for i in "${!words[@]}"; do [ "${words[$i]}.json" = "$last" ] && next=${words[$((i + 1))]}; done
node -e 'const m=JSON.parse(require("fs").readFileSync(process.argv[1])); m.push({role:"user",content:process.argv[2]}); console.log(JSON.stringify(m))' \
  "$tmp/e/$last" "$next" > "$tmp/refused.json"
"$HEARTH" template -m "$M" --messages "$tmp/refused.json" --add-generation-prompt > "$tmp/refused.txt"
n=$("$HEARTH" tokenize -m "$M" --special --json -f "$tmp/refused.txt" | node -e 'console.log(JSON.parse(require("fs").readFileSync(0)).length)')
[ "$n" = "$need" ] || fail "refusal says $need tokens, the conversation takes $n"
[ $((n + 8)) -gt $CTX ] || fail "refused a conversation that fits ($n + 8 <= $CTX)"
[ "$(answered "$tmp/e" "$tmp/e.out")" -ge 3 ] || fail "answers before the refusal are missing"

# drop-oldest: every turn answered; whole turns dropped from the front, system kept.
mkdir "$tmp/d"
script d | chat --context-policy drop-oldest > "$tmp/d.out" 2> "$tmp/d.err" || fail "drop-oldest exited $?: $(cat "$tmp/d.err")"
grep -q "drop-oldest: the conversation takes [0-9]* tokens + 8 for the answer > context $CTX; dropped the oldest turn (2 message(s))" \
  "$tmp/d.err" || fail "no drop-oldest notice: $(cat "$tmp/d.err")"
[ "$(answered "$tmp/d" "$tmp/d.out")" = 7 ] || fail "expected 7 answers"
node - "$tmp/d" <<'JS'
const fs = require("fs"), d = process.argv[2];
const fail = m => { console.error("FAIL: drop-oldest: " + m); process.exit(1); };
const words = ["one", "two", "three", "four", "five", "six", "seven"];
const all = {}; for (const w of words) all[w] = JSON.parse(fs.readFileSync(`${d}/${w}.json`));
const fin = all.seven;
if (fin[0].role !== "system" || fin[0].content !== "Be brief.") fail("system message lost");
const rest = fin.slice(1);
if (rest.length % 2 || rest.length >= 14) fail("expected fewer whole user/assistant pairs, got " + rest.length);
// What remains is the newest turns exactly as they were answered.
const firstKept = words.indexOf(rest[0].content);
if (firstKept <= 0) fail("the oldest turn was not dropped");
rest.forEach((m, i) => {
  const w = words[firstKept + (i >> 1)];
  if (i % 2 === 0 && (m.role !== "user" || m.content !== w)) fail(`message ${i + 1} should be user '${w}'`);
  if (i % 2 === 1) {
    const at = all[w]; // the conversation right after that turn was answered
    if (m.role !== "assistant" || m.content !== at[at.length - 1].content) fail(`answer to '${w}' changed`);
  }
});
console.log(`drop-oldest: kept the system message and turns ${words.slice(firstKept).join(",")}`);
JS

# summarize: the oldest turns are replaced by one message holding the model's summary.
mkdir "$tmp/s"
script s | chat --context-policy summarize > "$tmp/s.out" 2> "$tmp/s.err" || fail "summarize exited $?: $(cat "$tmp/s.err")"
grep -q "summarize: replaced [0-9]* old message(s) by a [0-9]*-token summary written by the model" "$tmp/s.err" ||
  fail "no summarize notice: $(cat "$tmp/s.err")"
[ "$(answered "$tmp/s" "$tmp/s.out")" = 7 ] || fail "expected 7 answers"
node - "$tmp/s" "$HEARTH" "$M" $CTX <<'JS'
const fs = require("fs"), { execFileSync } = require("child_process");
const [d, hearth, model, ctx] = process.argv.slice(2);
const fail = m => { console.error("FAIL: summarize: " + m); process.exit(1); };
const words = ["one", "two", "three", "four", "five", "six", "seven"];
const all = {}; for (const w of words) all[w] = JSON.parse(fs.readFileSync(`${d}/${w}.json`));
// The first save that holds a summary, and the one before it (still whole).
const i = words.findIndex(w => all[w].some(m => m.content.startsWith("Summary of the earlier conversation: ")));
if (i < 1) fail("no summary message in the saved conversations");
const before = all[words[i - 1]], after = all[words[i]];
if (after[0].content !== "Be brief." || after[1].role !== "system") fail("summary not right after the system message");
const summary = after[1].content.slice("Summary of the earlier conversation: ".length);
// The messages after the summary are the newest of `before` (whole turns), then the new turn.
const kept = after.length - 2 - 2, removed = before.length - 1 - kept;
if (removed < 2 || removed % 2) fail(`removed ${removed} messages, not whole turns`);
if (JSON.stringify(after.slice(2, 2 + kept)) !== JSON.stringify(before.slice(1 + removed))) fail("kept turns changed");
// Independently: the summary request rendered by `hearth template`, answered greedily by `hearth run`.
const transcript = before.slice(1, 1 + removed).map(m => `${m.role}: ${m.content}\n`).join("");
const req = [{ role: "user", content: "Summarize this conversation in a few sentences, keeping the facts needed to continue it:\n\n" + transcript }];
fs.writeFileSync(`${d}/req.json`, JSON.stringify(req));
const prompt = execFileSync(hearth, ["template", "-m", model, "--messages", `${d}/req.json`, "--add-generation-prompt"]).toString();
const r = JSON.parse(execFileSync(hearth, ["run", "-m", model, "-p", prompt, "--temp", "0", "-n", String(ctx / 8), "-c", ctx, "-t", "2", "--json"], { stdio: ["ignore", "pipe", "ignore"] }));
const want = r.text.replace(/^[\n ]+/, "");
if (summary !== want) fail(`summary ${JSON.stringify(summary)} != hearth run ${JSON.stringify(want)}`);
console.log(`summarize: ${removed} messages replaced by the model's ${r.tokens.length}-token summary`);
JS
echo ok
