"""Locust FastHttpUser sending the same chat request loadgen's rate.yaml sends, no wait.

Run by benchmarks/generator_speed.py (when Locust is installed) against the built-in target:
``locust -f benchmarks/peers/locustfile.py --headless -u N -r N -t 10s --host URL``.

Two users, picked by ``LOADGEN_PEER``: ``body`` (the default) reads the answer in one piece
and times only the request, as a plain Locust test does, which favours Locust; ``stream``
reads the answer as it arrives and reports time-to-first-token as its own request type, as a
Locust test of a chatbot must (no inter-token gaps: loadgen records every one of those too).
"""

from __future__ import annotations

import json
import os
import time

from locust import FastHttpUser, constant, task

BODY = json.dumps(
    {
        "model": "builtin",
        "messages": [{"role": "user", "content": "Benchmark question"}],
        "stream": True,
        "max_tokens": 32,
        "stream_options": {"include_usage": True},
    }
)


STREAM = os.environ.get("LOADGEN_PEER") == "stream"


class Chat(FastHttpUser):
    wait_time = constant(0)

    @task
    def chat(self) -> None:
        if STREAM:
            self._streamed()
            return
        with self.client.post(
            "/v1/chat/completions",
            data=BODY,
            headers={"content-type": "application/json"},
            catch_response=True,
        ) as response:
            if not response.content or not response.content.endswith(b"data: [DONE]\n\n"):
                response.failure("stream did not end with [DONE]")

    def _streamed(self) -> None:
        start = time.perf_counter()
        first: float | None = None
        tail = b""
        with self.client.post(
            "/v1/chat/completions",
            data=BODY,
            headers={"content-type": "application/json"},
            stream=True,
            catch_response=True,
        ) as response:
            while chunk := response.stream.read(65536):
                if first is None and b'"content":"' in chunk.replace(b'"content":""', b""):
                    first = time.perf_counter()
                tail = (tail + chunk)[-32:]
            if not tail.endswith(b"data: [DONE]\n\n"):
                response.failure("stream did not end with [DONE]")
        if first is not None:
            self.environment.events.request.fire(
                request_type="TTFT",
                name="/v1/chat/completions",
                response_time=(first - start) * 1000,
                response_length=0,
                exception=None,
                context={},
            )
