#!/usr/bin/env bash
# Build, once, a virtual environment from a pinned requirements file and print its Python:
#   bash .ci/venv.sh NAME REQUIREMENTS
# It is cached under ${XDG_CACHE_HOME:-~/.cache}/loadgen/NAME-HASH, HASH of the requirements and
# the Python version, so later runs reuse it; a build cut short is never reused (.complete
# marks a whole one). Progress goes to stderr, the path alone to stdout. Used by .ci/peers.sh
# (the third-party servers of tests/peers) and benchmarks/locust_env.sh (Locust).
set -euo pipefail
name=$1
req=$2

PY=${PYTHON:-python3}
hash=$({ cat "$req"; "$PY" -c 'import sys; print(sys.version)'; } | sha256sum | cut -c1-16)
dir=${XDG_CACHE_HOME:-$HOME/.cache}/loadgen/$name-$hash

if [ ! -f "$dir/.complete" ]; then
  echo "== building the $name environment in $dir" >&2
  rm -rf "$dir"
  mkdir -p "$(dirname "$dir")"
  "$PY" -m venv "$dir"
  # pip names each local index it skips for a package: noise, not news.
  "$dir/bin/python" -m pip install --quiet --no-input -r "$req" 2>&1 \
    | { grep -v '^WARNING: Location .* is ignored' || true; } >&2
  touch "$dir/.complete"
fi
echo "$dir/bin/python"
