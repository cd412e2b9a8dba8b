#!/usr/bin/env bash
# Build, once, the virtual environment Locust runs from in benchmarks/generator_speed.py and
# print its Python (cached: .ci/venv.sh). Locust lives apart from loadgen's environment so
# gevent (and its monkey patching) never enters it:
#   python benchmarks/generator_speed.py paced --locust-python "$(bash benchmarks/locust_env.sh)"
set -euo pipefail
cd "$(dirname "$0")/.."
exec bash .ci/venv.sh locust benchmarks/locust-requirements.txt
