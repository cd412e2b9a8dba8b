#!/usr/bin/env bash
# Build, once, the virtual environment of the third-party servers that tests/peers starts
# (transformers serve, LiteLLM's proxy) and print its Python (cached: .ci/venv.sh):
#   export LOADGEN_PEERS_PYTHON=$(bash .ci/peers.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
exec bash .ci/venv.sh peers .ci/peers-requirements.txt
