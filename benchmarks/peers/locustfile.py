"""Locust FastHttpUser sending the same chat request loadgen's rate.yaml sends, no wait.

Run by benchmarks/generator_speed.py (when Locust is installed) against the built-in target:
``locust -f benchmarks/peers/locustfile.py --headless -u N -r N -t 10s --host URL``.

Three users, picked by ``LOADGEN_PEER``, from least to most of what loadgen records:

* ``body`` (the default) reads the answer in one piece and times only the request, as a plain
  Locust test does;
* ``stream`` reads the answer as it arrives and reports time-to-first-token as its own
  request type (one substring test per read: the least a chatbot test can do);
* ``tokens`` also splits each read into SSE events and parses each with ``json.loads``, as
  Locust tests of LLM endpoints do to count output tokens, and reports time-to-first-token
  and time-per-output-token per request. loadgen records all that plus every inter-token
  gap, end-to-end, time-to-first-byte and usage, per request, per name and per second.
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


MODE = os.environ.get("LOADGEN_PEER", "body")


class Chat(FastHttpUser):
    wait_time = constant(0)

    @task
    def chat(self) -> None:
        if MODE == "stream":
            self._streamed()
            return
        if MODE == "tokens":
            self._tokens()
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

    def _tokens(self) -> None:
        start = time.perf_counter()
        first: float | None = None
        last = start
        tokens = 0
        done = False
        buffer = b""
        with self.client.post(
            "/v1/chat/completions",
            data=BODY,
            headers={"content-type": "application/json"},
            stream=True,
            catch_response=True,
        ) as response:
            while chunk := response.stream.read(65536):
                now = time.perf_counter()
                *events, buffer = (buffer + chunk).split(b"\n\n")
                for event in events:
                    data = event.removeprefix(b"data: ")
                    if data == b"[DONE]":
                        done = True
                        continue
                    choices = json.loads(data).get("choices") or [{}]
                    if choices[0].get("delta", {}).get("content"):
                        tokens += 1
                        first = first or now
                        last = now
            if not done:
                response.failure("stream did not end with [DONE]")
        if first is None:
            return
        fire = self.environment.events.request.fire
        fire(
            request_type="TTFT",
            name="/v1/chat/completions",
            response_time=(first - start) * 1000,
            response_length=tokens,
            exception=None,
            context={},
        )
        if tokens > 1:
            fire(
                request_type="TPOT",
                name="/v1/chat/completions",
                response_time=(last - first) * 1000 / (tokens - 1),
                response_length=tokens,
                exception=None,
                context={},
            )
