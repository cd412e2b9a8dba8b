#!/usr/bin/env bash
# Build, once, the virtual environment of the third-party servers that tests/peers starts
# (transformers serve, LiteLLM's proxy) and print its Python. It is cached under
# ${XDG_CACHE_HOME:-~/.cache}/loadgen/ by a hash of the pinned requirements and the Python
# version, so later runs reuse it; a build cut short is never reused (.complete marks a whole
# one). Progress goes to stderr, the path alone to stdout:
#   export LOADGEN_PEERS_PYTHON=$(bash .ci/peers.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
req=.ci/peers-requirements.txt
hash=$({ cat "$req"; "$PY" -c 'import sys; print(sys.version)'; } | sha256sum | cut -c1-16)
dir=${XDG_CACHE_HOME:-$HOME/.cache}/loadgen/peers-$hash

if [ ! -f "$dir/.complete" ]; then
  echo "== building the peer servers' environment in $dir" >&2
  rm -rf "$dir"
  mkdir -p "$(dirname "$dir")"
  "$PY" -m venv "$dir"
  # pip names each local index it skips for a package: noise, not news.
  "$dir/bin/python" -m pip install --quiet --no-input -r "$req" 2>&1 \
    | { grep -v '^WARNING: Location .* is ignored' || true; } >&2
  touch "$dir/.complete"
fi
echo "$dir/bin/python"
