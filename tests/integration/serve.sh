#!/usr/bin/env bash
# hearth serve on a generated tiny qwen2 model (real ChatML vocabulary): the
# official openai and ollama npm clients (tests/oracle/serve_clients.mjs), then
# curl for framing, every error status, queueing, rate limits and disconnects.
# Expected answers come from llama.cpp (node-llama-cpp) on the same model.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tests/lib/serve_wait.sh"
vocab="$root/../shared/vocab/ggml-vocab-qwen2.gguf"
[ -f "$vocab" ] || vocab=/work/shared/vocab/ggml-vocab-qwen2.gguf
bash "$root/tests/oracle/install.sh"
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$tmp"/*.log; do echo "== $f"; tail -20 "$f"; done; exit 1; }

"$BUILD/genmodel" --arch qwen2 --type q8_0 --vocab "$vocab" -o "$tmp/tiny.gguf" >/dev/null

# Starts a server on a free port (--port 0); sets PORT. Waits for /health to say ok.
start() { # name args...
  local name=$1; shift
  "$HEARTH" serve -m "$tmp/tiny.gguf" --port 0 -t 1 "$@" 2>"$tmp/$name.log" &
  pids+=($!)
  serve_wait "$name"
}

KEY=sekrit-key
start main --parallel 4 --ctx-per-slot 256 --api-key "$KEY" --max-body 4096 --alias tiny
B="http://127.0.0.1:$PORT"
AUTH="Authorization: Bearer $KEY"

# ---- the official clients ----
MODEL="$tmp/tiny.gguf" BASE="$B" KEY="$KEY" NAME=tiny node "$root/tests/oracle/serve_clients.mjs" ||
  fail "client checks"

# ---- curl: framing ----
msgs='"messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Name a color."}]'
curl -sN "$B/v1/chat/completions" -H "$AUTH" -d "{$msgs,\"max_tokens\":5,\"temperature\":0,\"stream\":true}" > "$tmp/sse.txt"
node - "$tmp/sse.txt" <<'JS' || fail "SSE framing"
const t = require("fs").readFileSync(process.argv[2], "utf8");
if (!t.endsWith("data: [DONE]\n\n")) throw new Error("must end with data: [DONE]");
const events = t.split("\n\n").slice(0, -1);
events.forEach((e, i) => { if (!e.startsWith("data: ") || e.includes("\n")) throw new Error("bad event " + JSON.stringify(e)); });
const chunks = events.slice(0, -1).map((e) => JSON.parse(e.slice(6)));
for (const c of chunks) if (c.object !== "chat.completion.chunk" || c.choices.length !== 1) throw new Error("bad chunk");
if (chunks.at(-1).choices[0].finish_reason !== "length") throw new Error("last chunk must carry finish_reason");
if (chunks.filter((c) => c.choices[0].delta.content).length !== 5) throw new Error("5 content chunks expected");
JS
curl -sN "$B/api/chat" -H "$AUTH" -d "{$msgs,\"options\":{\"num_predict\":4,\"temperature\":0}}" > "$tmp/nd.txt"
node - "$tmp/nd.txt" <<'JS' || fail "NDJSON framing"
const t = require("fs").readFileSync(process.argv[2], "utf8");
if (!t.endsWith("\n")) throw new Error("must end with a newline");
const lines = t.trimEnd().split("\n").map((l) => JSON.parse(l));
if (lines.length !== 5) throw new Error(`expected 4 pieces and a final line, got ${lines.length}`);
lines.slice(0, -1).forEach((l) => { if (l.done !== false || typeof l.message.content !== "string") throw new Error("piece"); });
const last = lines.at(-1);
if (last.done !== true || last.done_reason !== "length" || last.eval_count !== 4) throw new Error("final line " + JSON.stringify(last));
JS

# ---- curl: errors, each with OpenAI's error object ----
expect() { # status body-check-regex curl-args...
  local want=$1 re=$2; shift 2
  local got
  got=$(curl -s -o "$tmp/err.json" -D "$tmp/hdr.txt" -w '%{http_code}' "$@")
  [ "$got" = "$want" ] || fail "expected $want, got $got for: $* :: $(cat "$tmp/err.json")"
  node -e 'const e=JSON.parse(require("fs").readFileSync(process.argv[1])).error;
    if (typeof e.message!=="string"||typeof e.type!=="string"||!("param" in e)||!("code" in e)) process.exit(1);
    if (!new RegExp(process.argv[2]).test(e.message)) { console.error(e.message); process.exit(2); }' "$tmp/err.json" "$re" ||
    fail "error body for $want: $(cat "$tmp/err.json")"
}
C="$B/v1/chat/completions"
expect 401 "API key" "$C" -d "{$msgs}"
expect 401 "invalid API key" "$C" -H "Authorization: Bearer wrong" -d "{$msgs}"
expect 400 "malformed JSON" "$C" -H "$AUTH" -d '{"messages": [}'
expect 400 "must be an object" "$C" -H "$AUTH" -d '[1,2]'
expect 400 "'messages' must be an array" "$C" -H "$AUTH" -d '{"messages":"hi"}'
expect 400 "'max_tokens' must be an integer" "$C" -H "$AUTH" -d "{$msgs,\"max_tokens\":\"5\"}"
expect 400 "'temperature' must be a number" "$C" -H "$AUTH" -d "{$msgs,\"temperature\":\"hot\"}"
expect 400 "unknown role 'wizard'" "$C" -H "$AUTH" -d '{"messages":[{"role":"wizard","content":"x"}]}'
expect 400 "tool calling" "$C" -H "$AUTH" -d '{"messages":[{"role":"tool","content":"x"}]}'
expect 400 "response_format" "$C" -H "$AUTH" -d "{$msgs,\"response_format\":{\"type\":\"json_object\"}}"
expect 404 "does not exist" "$C" -H "$AUTH" -d "{$msgs,\"model\":\"gpt-4\"}"
expect 404 "does not exist" "$B/api/chat" -H "$AUTH" -d "{$msgs,\"model\":\"llama3\"}"
expect 404 "no such endpoint" "$B/v1/nothing" -H "$AUTH"
long=$(printf 'hello %.0s' $(seq 1 300))
expect 400 "prompt has [0-9]+ tokens but the context of a slot holds 256" "$C" -H "$AUTH" -d "{\"messages\":[{\"role\":\"user\",\"content\":\"$long\"}]}"
big=$(printf 'x%.0s' $(seq 1 5000))
expect 413 "larger than the limit of 4096" "$C" -H "$AUTH" -d "{\"messages\":[{\"role\":\"user\",\"content\":\"$big\"}]}"
expect 400 "num_ctx" "$B/api/generate" -H "$AUTH" -d '{"prompt":"hi","options":{"num_ctx":100000}}'
expect 400 "unknown option" "$B/api/generate" -H "$AUTH" -d '{"prompt":"hi","options":{"warp_speed":1}}'
[ "$(curl -s "$B/health")" = '{"status":"ready"}' ] || fail "health without a key"

# ---- disconnects cancel at once and free the slot ----
curl -sN --max-time 1 "$B/v1/chat/completions" -H "$AUTH" -d "{$msgs,\"max_tokens\":100000,\"stream\":true}" >/dev/null || true
curl -s --max-time 1 "$B/v1/chat/completions" -H "$AUTH" -d "{$msgs,\"max_tokens\":100000}" >/dev/null || true
sleep 0.5
curl -s "$B/metrics" -H "$AUTH" > "$tmp/metrics.txt"
grep -q '^hearth_active_slots 0$' "$tmp/metrics.txt" || fail "slots still busy after the clients left: $(grep active "$tmp/metrics.txt")"
[ "$(grep -c 'client_closed\|cancelled' "$tmp/main.log")" -ge 2 ] || fail "disconnects not logged as cancelled"
for m in 'hearth_requests_total{endpoint="/v1/chat/completions",status="200"}' 'hearth_requests_total{endpoint="/v1/chat/completions",status="401"}' \
         hearth_time_to_first_token_seconds_bucket hearth_token_latency_seconds_count hearth_queue_depth hearth_kv_cache_usage_ratio \
         hearth_generated_tokens_total hearth_prompt_tokens_total; do
  grep -qF "$m" "$tmp/metrics.txt" || fail "metrics lack $m"
done
# The repeated system prompt and conversation prefix were reused from a slot's cache.
curl -s "$C" -H "$AUTH" -d "{$msgs,\"max_tokens\":2,\"temperature\":0}" > "$tmp/c1.json"
node -e 'const u=JSON.parse(require("fs").readFileSync(process.argv[1])).usage; if (!(u.prompt_tokens_details.cached_tokens>=u.prompt_tokens-1)) process.exit(1)' "$tmp/c1.json" ||
  fail "prefix cache not used: $(cat "$tmp/c1.json")"

# ---- second server: one slot, one queue place, rate limit, JSON logs ----
start small --parallel 1 --queue 1 --ctx-per-slot 128 --rate-limit 6/min --log-format json
S="http://127.0.0.1:$PORT"
# A long stream holds the only slot, a second request waits in the queue, a third is turned away.
curl -sN --max-time 60 "$S/v1/chat/completions" -d "{$msgs,\"max_tokens\":100000,\"stream\":true}" > /dev/null &
holder=$!
for _ in $(seq 1 100); do curl -s "$S/metrics" | grep -q '^hearth_active_slots 1$' && break; sleep 0.05; done
curl -s -o "$tmp/q2.json" -w '%{http_code}' "$S/v1/chat/completions" -d "{$msgs,\"max_tokens\":12}" > "$tmp/q2.code" &
waiter=$!
for _ in $(seq 1 100); do curl -s "$S/metrics" | grep -q '^hearth_queue_depth 1$' && break; sleep 0.05; done
code=$(curl -s -o "$tmp/q3.json" -D "$tmp/q3.hdr" -w '%{http_code}' "$S/v1/chat/completions" -d "{$msgs,\"max_tokens\":12}")
[ "$code" = 503 ] || fail "queue full: expected 503, got $code"
grep -qi '^Retry-After: [0-9]' "$tmp/q3.hdr" || fail "503 without Retry-After"
grep -q '"code":"queue_full"' "$tmp/q3.json" || fail "503 body: $(cat "$tmp/q3.json")"
kill "$holder" 2>/dev/null || true
wait "$waiter" || true
[ "$(cat "$tmp/q2.code")" = 200 ] || fail "queued request: expected 200, got $(cat "$tmp/q2.code")"
for _ in 1 2 3; do curl -s -o /dev/null "$S/api/version"; done # 3 chats + 3 = the 6 allowed (metrics are not limited)
expect 429 "rate limit of 6 requests per minute" "$S/api/version"
grep -qi '^Retry-After: [0-9]' "$tmp/hdr.txt" || fail "429 without Retry-After"
node -e 'const l=require("fs").readFileSync(process.argv[1],"utf8").split("\n").filter(x=>x.startsWith("{")).map(JSON.parse);
  const c=l.find(x=>x.path==="/v1/chat/completions"&&x.status===200&&x.finish==="length");
  if(!c||c.tokens_out!==12||!(c.tokens_in>0)||typeof c.ms!=="number") process.exit(1);
  if(!l.some(x=>x.status===503)||!l.some(x=>x.status===429)) process.exit(2)' "$tmp/small.log" || fail "JSON request log"
# SIGTERM shuts down cleanly (under the sanitizers, with no leaks reported).
for p in "${pids[@]}"; do kill -TERM "$p"; rc=0; wait "$p" || rc=$?; [ "$rc" = 0 ] || fail "server exit status $rc after SIGTERM"; done
pids=()
grep -q "shutting down" "$tmp/main.log" || fail "no shutdown message"
echo "serve: all checks passed"
