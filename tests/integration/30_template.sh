#!/usr/bin/env bash
# hearth template --file/--context: stdout is exactly Hugging Face's rendering
# (../shared/templates/NAME.expected.json), a raising template exits 1 with its message.
set -euo pipefail
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
T=../shared/templates
day=1795521600 # 2026-11-24, the day the expected files were rendered (strftime_now)
pick() { # FILE CASE FIELD -> that field of the named case, written raw to stdout
  node -e 'const a=JSON.parse(require("fs").readFileSync(process.argv[1]));
           const c=a.find(x=>x.name===process.argv[2]); process.stdout.write(process.argv[3]==="context"?JSON.stringify(c.context):(c[process.argv[3]]??""))' "$@"
}
for name in Qwen-Qwen3-0.6B meta-llama-Llama-3.2-3B-Instruct; do
  for c in single-user tools-call-and-result; do
    pick $T/cases.json $c context > "$tmp/ctx.json"
    pick $T/$name.expected.json $c output > "$tmp/want"
    "$HEARTH" template --file $T/$name.jinja --context "$tmp/ctx.json" --now $day --utc > "$tmp/got"
    cmp "$tmp/want" "$tmp/got" || { echo "$name/$c differs"; exit 1; }
  done
done
pick $T/cases.json tools-call-and-result context > "$tmp/ctx.json"
if "$HEARTH" template --file $T/Mistral-Small-3.2-24B-Instruct-2506.jinja --context "$tmp/ctx.json" 2>"$tmp/err" >/dev/null; then
  echo "raising template exited 0"; exit 1
fi
grep -qF "$(pick $T/Mistral-Small-3.2-24B-Instruct-2506.expected.json tools-call-and-result error)" "$tmp/err"
# a malformed template: an error naming its line, no crash
printf 'a\nb\n{%% if x %%}\n{{ 1 + }}\n' > "$tmp/bad.jinja"
echo '{}' > "$tmp/empty.json"
if "$HEARTH" template --file "$tmp/bad.jinja" --context "$tmp/empty.json" 2>"$tmp/err"; then echo "bad template exited 0"; exit 1; fi
grep -q "line 4" "$tmp/err"
echo ok
