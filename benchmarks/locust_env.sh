#!/usr/bin/env bash
# Build, once, the virtual environment Locust runs from in benchmarks/generator_speed.py and
# print its Python. Locust lives apart from loadgen's environment so gevent (and its monkey
# patching) never enters it. Cached under ${XDG_CACHE_HOME:-~/.cache}/loadgen/ by a hash of the
# pinned requirements and the Python version, so later runs reuse it; a build cut short is
# never reused (.complete marks a whole one). Progress goes to stderr, the path alone to stdout:
#   python benchmarks/generator_speed.py paced --locust-python "$(bash benchmarks/locust_env.sh)"
set -euo pipefail
cd "$(dirname "$0")"

PY=${PYTHON:-python3}
req=locust-requirements.txt
hash=$({ cat "$req"; "$PY" -c 'import sys; print(sys.version)'; } | sha256sum | cut -c1-16)
dir=${XDG_CACHE_HOME:-$HOME/.cache}/loadgen/locust-$hash

if [ ! -f "$dir/.complete" ]; then
  echo "== building Locust's environment in $dir" >&2
  rm -rf "$dir"
  mkdir -p "$(dirname "$dir")"
  "$PY" -m venv "$dir"
  # pip names each local index it skips for a package: noise, not news.
  "$dir/bin/python" -m pip install --quiet --no-input -r "$req" 2>&1 \
    | { grep -v '^WARNING: Location .* is ignored' || true; } >&2
  touch "$dir/.complete"
fi
echo "$dir/bin/python"
