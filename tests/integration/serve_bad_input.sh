#!/usr/bin/env bash
# hearth serve under hostile input (issue 5, item 9): a slowloris body, a stalled
# client, a 1 MB header line, invalid UTF-8 and 100000-deep JSON, absurd
# max_tokens / num_predict values, an oversized stop string. Each gets a bounded
# cut-off or a 4xx with a clear message while other clients are still served,
# and a normal completion works at the end. Raw sockets in python3.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
vocab="$root/../shared/vocab/ggml-vocab-qwen2.gguf"
[ -f "$vocab" ] || vocab=/work/shared/vocab/ggml-vocab-qwen2.gguf
tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; tail -20 "$tmp/server.log"; exit 1; }

"$BUILD/genmodel" --arch qwen2 --type q8_0 --vocab "$vocab" -o "$tmp/tiny.gguf" >/dev/null
TIMEOUT=3
"$HEARTH" serve -m "$tmp/tiny.gguf" --port 0 -t 1 --parallel 2 --ctx-per-slot 128 --request-timeout $TIMEOUT \
  2>"$tmp/server.log" &
pid=$!
PORT=
for _ in $(seq 1 200); do
  PORT=$(grep -so 'listening on http://127.0.0.1:[0-9]*' "$tmp/server.log" | grep -o '[0-9]*$' || true)
  [ -n "$PORT" ] && [ "$(curl -s "http://127.0.0.1:$PORT/health" || true)" = '{"status":"ready"}' ] && break
  kill -0 "$pid" 2>/dev/null || fail "server exited"
  sleep 0.1
done
[ -n "$PORT" ] || fail "server did not become ready"

PORT=$PORT TIMEOUT=$TIMEOUT python3 - <<'PY' || fail "bad-input checks"
import http.client, json, os, socket, threading, time

PORT, TIMEOUT = int(os.environ["PORT"]), float(os.environ["TIMEOUT"])
MSGS = [{"role": "user", "content": "Name a color."}]
failures = []

def check(cond, what):
    if not cond:
        failures.append(what)
        print("  not ok:", what)

def post(path, body, timeout=30):
    """(status, parsed JSON or raw text, seconds) for a POST of bytes or a JSON-able object."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=timeout)
    t0 = time.monotonic()
    c.request("POST", path, data, {"Content-Type": "application/json"})
    r = c.getresponse()
    raw = r.read()
    dt = time.monotonic() - t0
    c.close()
    try:
        return r.status, json.loads(raw), dt
    except ValueError:
        return r.status, raw.decode("latin-1"), dt

def expect_400(path, body, pattern, what):
    st, js, _ = post(path, body)
    msg = js.get("error", {}).get("message", "") if isinstance(js, dict) else ""
    if isinstance(js, dict) and isinstance(js.get("error"), str):
        msg = js["error"]
    check(st == 400 and pattern in msg, f"{what}: expected 400 with '{pattern}', got {st} {str(js)[:200]}")

def normal_completion(what, limit=None):
    st, js, dt = post("/v1/chat/completions", {"messages": MSGS, "max_tokens": 4, "temperature": 0})
    ok = st == 200 and js["choices"][0]["finish_reason"] == "length" and js["usage"]["completion_tokens"] == 4
    check(ok, f"{what}: normal completion failed: {st} {str(js)[:200]}")
    if limit is not None:
        check(dt < limit, f"{what}: normal completion took {dt:.2f}s (limit {limit}s)")
    return dt

def read_until_closed(s, deadline):
    """Bytes received until the peer closes; None if still open at the deadline."""
    got = b""
    while time.monotonic() < deadline:
        s.settimeout(max(0.01, min(0.2, deadline - time.monotonic())))
        try:
            d = s.recv(65536)
        except socket.timeout:
            continue
        except OSError:  # reset
            return got
        if not d:
            return got
        got += d
    return None

# ---- slowloris: headers, then the body at 1 byte per second ----
body = json.dumps({"messages": MSGS, "max_tokens": 2}).encode()
head = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n").encode()
slow = {}
def slowloris():
    s = socket.create_connection(("127.0.0.1", PORT))
    s.sendall(head)
    t0 = time.monotonic()
    for i in range(len(body)):
        try:
            s.send(body[i:i + 1])
        except OSError:
            break
        got = read_until_closed(s, time.monotonic() + 1.0)
        if got is not None:
            slow["cut"], slow["reply"] = time.monotonic() - t0, got
            break
    s.close()
def stalled():  # headers and one byte, then silence: the idle limit
    s = socket.create_connection(("127.0.0.1", PORT))
    s.sendall(head + body[:1])
    t0 = time.monotonic()
    got = read_until_closed(s, t0 + TIMEOUT + 10)
    slow["stall_cut"] = time.monotonic() - t0 if got is not None else None
    s.close()
threads = [threading.Thread(target=slowloris), threading.Thread(target=stalled)]
for t in threads: t.start()
time.sleep(0.5)
dt = normal_completion("during slowloris", limit=2.5)
check("cut" not in slow, "the normal request finished after the slow client was cut off (it was not served meanwhile)")
for t in threads: t.join(TIMEOUT + 15)
cut = slow.get("cut")
check(cut is not None and cut <= TIMEOUT + 2.5, f"slow body: cut off after {cut} s (limit {TIMEOUT} s + 2.5)")
check(not slow.get("reply", b"").startswith(b"HTTP/1.1 200"), "slow body was answered 200")
sc = slow.get("stall_cut")
check(sc is not None and sc <= TIMEOUT + 2.5, f"stalled body: cut off after {sc} s")
print(f"  slow body cut off after {cut:.1f} s, stalled one after {sc:.1f} s; a normal request took {dt:.2f} s meanwhile")

# ---- a 1 MB header line: 431 (or 400, or closed) ----
s = socket.create_connection(("127.0.0.1", PORT))
s.settimeout(10)
req = (b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (1 << 20) + b"\r\n\r\n")
try:
    s.sendall(req)
except OSError:
    pass  # the server may close while we still send
got = read_until_closed(s, time.monotonic() + 10)
s.close()
status = got.split(b" ", 2)[1] if got and got.startswith(b"HTTP/1.") else b"closed"
check(got is not None and status in (b"431", b"400", b"closed"), f"1 MB header: got {got[:80] if got else got}")
print(f"  1 MB header: {status.decode()}")
normal_completion("after the 1 MB header", limit=5)

# ---- invalid UTF-8 in the path: a JSON error object (the message quotes the path) ----
s = socket.create_connection(("127.0.0.1", PORT))
s.sendall(b"GET /v1/\xff\xfe\xc3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
got = read_until_closed(s, time.monotonic() + 10) or b""
s.close()
hdr, _, payload = got.partition(b"\r\n\r\n")
status = hdr.split(b" ", 2)[1] if hdr.startswith(b"HTTP/1.") else b"none"
if status == b"404":
    try:
        ok = "no such endpoint" in json.loads(payload)["error"]["message"]
    except ValueError:
        ok = False
    check(ok, f"404 for a non-UTF-8 path: the body is not a JSON error: {payload[:200]}")
else:
    check(status == b"400", f"non-UTF-8 path: got {got[:100]}")

# ---- invalid UTF-8 inside JSON strings ----
for path, b in [("/v1/chat/completions", b'{"messages":[{"role":"user","content":"a\xff\xfeb"}]}'),
                ("/v1/completions", b'{"prompt":"\xc3\x28"}'),
                ("/api/generate", b'{"prompt":"ok","system":"\xed\xa0\x80"}'),  # a UTF-8-encoded surrogate
                ("/api/chat", b'{"messages":[{"role":"user","content":"hi"}],"model":"\xc0\xaf"}')]:
    expect_400(path, b, "not valid UTF-8", f"invalid UTF-8 to {path}")
expect_400("/v1/chat/completions", b'{"messages":[{"role":"user","content":"\\ud800"}]}', "invalid Unicode",
           "lone surrogate escape")

# ---- deeply nested JSON ----
N = 100000
expect_400("/v1/chat/completions", ("[" * N + "]" * N).encode(), "nested deeper than 64", "100000 nested arrays")
expect_400("/api/chat", ('{"a":' * N + "1" + "}" * N).encode(), "nested deeper than 64", "100000 nested objects")
st, js, _ = post("/v1/chat/completions", {"messages": MSGS, "max_tokens": 1, "x": "[{" * 5000})
check(st == 200, f"brackets inside a string are not nesting: got {st} {str(js)[:200]}")

# ---- absurd max_tokens / num_predict ----
C = "/v1/chat/completions"
for v, pat in [(-1, "'max_tokens' must be between 1 and"), (0, "'max_tokens' must be between 1 and"),
               (1e30, "'max_tokens' must be an integer"), ("abc", "'max_tokens' must be an integer"),
               (2147483648, "'max_tokens' must be between 1 and 2147483647")]:
    expect_400(C, {"messages": MSGS, "max_tokens": v}, pat, f"max_tokens {v!r}")
expect_400(C, b'{"messages":[{"role":"user","content":"x"}],"max_tokens":9223372036854775808}', "out of range",
           "max_tokens 2^63")
expect_400(C, {"messages": MSGS, "max_completion_tokens": -5}, "'max_completion_tokens' must be between", "max_completion_tokens -5")
for v, pat in [(-3, "'num_predict' must be between -2 and"), (1e30, "'num_predict' must be an integer"),
               ("abc", "'num_predict' must be an integer")]:
    expect_400("/api/generate", {"prompt": "hi", "options": {"num_predict": v}}, pat, f"num_predict {v!r}")
expect_400("/api/generate", b'{"prompt":"hi","options":{"num_predict":9223372036854775808}}', "out of range",
           "num_predict 2^63")
# The largest valid value is bounded by the slot's context (128): finish_reason "length", no hang.
# The last token is sampled from the logits of position 128 and needs no KV entry, hence 129.
st, js, dt = post(C, {"messages": MSGS, "max_tokens": 2147483647, "temperature": 0}, timeout=60)
ok = st == 200 and js["choices"][0]["finish_reason"] == "length"
u = js["usage"] if ok else {}
check(ok and u["prompt_tokens"] + u["completion_tokens"] <= 129 and u["completion_tokens"] > 0,
      f"max_tokens 2^31-1: expected a 'length' finish within the 128-token context, got {st} {str(js)[-200:]}")
print(f"  max_tokens 2147483647: {u.get('completion_tokens')} tokens (context 128) in {dt:.2f} s")

# ---- a prompt that cannot fit is refused without tokenizing it (the HTTP thread stays free) ----
st, js, dt = post("/v1/completions", {"prompt": "a" * (4 << 20)})
msg = js.get("error", {}).get("message", "") if isinstance(js, dict) else ""
check(st == 400 and "bytes, more than" in msg, f"4 MB one-word prompt: {st} {str(js)[:200]}")
check(dt < 2.0, f"4 MB one-word prompt took {dt:.2f} s to refuse")
print(f"  4 MB prompt refused in {dt:.2f} s")

# ---- oversized stop strings, wrong types ----
expect_400(C, {"messages": MSGS, "stop": ["x" * 5000]}, "at most 1024 bytes", "5000-byte stop string")
expect_400(C, {"messages": MSGS, "stop": ["a"] * 17}, "at most 16", "17 stop strings")
expect_400(C, {"messages": MSGS, "stream": "yes"}, "'stream' must be a boolean", "stream as a string")
expect_400(C, {"messages": [{"role": "user", "content": {"deep": [1, 2]}}]}, "content must be a string", "content object")

# ---- still serving ----
normal_completion("at the end", limit=5)
if failures:
    print(f"{len(failures)} check(s) failed")
    raise SystemExit(1)
PY
kill -0 "$pid" 2>/dev/null || fail "the server died"
grep -q ' 408 ' "$tmp/server.log" || fail "the slow body was not logged as 408"
kill -TERM "$pid"; rc=0; wait "$pid" || rc=$?; pid=
[ "$rc" = 0 ] || fail "server exit status $rc after SIGTERM"
echo "serve_bad_input: all checks passed"
