# Shared by the integration tests that start `hearth serve` (sourced, not run).
# serve_wait NAME: waits until the server just started in the background (its
# pid last in the caller's pids array, its stderr in $tmp/NAME.log) listens and
# answers /health with ready; sets PORT. Calls the caller's fail() when the
# server exits or is not ready within 30 s.
serve_wait() {
  local name=$1
  PORT=
  for _ in $(seq 1 300); do
    PORT=$(grep -so 'listening on http://127.0.0.1:[0-9]*' "$tmp/$name.log" | grep -o '[0-9]*$' || true)
    [ -n "$PORT" ] && [ "$(curl -s "http://127.0.0.1:$PORT/health" || true)" = '{"status":"ready"}' ] && return 0
    kill -0 "${pids[-1]}" 2>/dev/null || fail "server $name exited"
    sleep 0.1
  done
  fail "server $name did not become ready"
}
