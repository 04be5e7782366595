#!/usr/bin/env bash
# Installs the test-only Jinja oracle (@huggingface/jinja 0.5.11, what the Hub
# renders chat templates with) into tests/oracle/jinja/node_modules unless there.
set -euo pipefail
cd "$(dirname "$0")/jinja"
if [ -f node_modules/@huggingface/jinja/package.json ] &&
   grep -q '"version": "0.5.11"' node_modules/@huggingface/jinja/package.json; then
  exit 0
fi
npm install --no-save --no-audit --no-fund @huggingface/jinja@0.5.11 >/dev/null
