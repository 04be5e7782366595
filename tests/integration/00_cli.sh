#!/usr/bin/env bash
# The command line's basic contract: version, usage errors exit non-zero with one line.
set -euo pipefail
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$HEARTH" version | grep -q '^hearth [0-9]'
if "$HEARTH" no-such-command 2>"$tmp/err"; then echo "unknown command succeeded"; exit 1; fi
grep -q "unknown command 'no-such-command'" "$tmp/err"
[ "$(wc -l < "$tmp/err")" -eq 1 ]
echo ok
