"""The chat request every peer client sends: the one loadgen's benchmarks/rate.yaml sends."""

from __future__ import annotations

import json

PATH = "/v1/chat/completions"
HEADERS = {"content-type": "application/json"}
BODY = json.dumps(
    {
        "model": "builtin",
        "messages": [{"role": "user", "content": "Benchmark question"}],
        "stream": True,
        "max_tokens": 32,
        "stream_options": {"include_usage": True},
    }
).encode()
