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

These read with ``response.stream.read(65536)``, which returns once it holds that many bytes
or the whole answer: right for the zero-delay rate runs (an answer comes at once), but in a
paced answer it stamps the first token at the answer's end. The paced benchmark's user,
peers/locust_paced.py, reads event by event instead.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from chat_request import BODY, HEADERS, PATH  # beside this file: Locust puts its dir on the path
from locust import FastHttpUser, constant, task

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
        with self._post(stream=False) as response:
            if not response.content or not response.content.endswith(b"data: [DONE]\n\n"):
                response.failure("stream did not end with [DONE]")

    def _post(self, *, stream: bool) -> Any:
        return self.client.post(
            PATH, data=BODY, headers=HEADERS, stream=stream, catch_response=True
        )

    def _report(self, kind: str, ms: float, tokens: int) -> None:
        self.environment.events.request.fire(
            request_type=kind,
            name=PATH,
            response_time=ms,
            response_length=tokens,
            exception=None,
            context={},
        )

    def _streamed(self) -> None:
        start = time.perf_counter()
        first: float | None = None
        tail = b""
        with self._post(stream=True) as response:
            while chunk := response.stream.read(65536):
                if first is None and b'"content":"' in chunk.replace(b'"content":""', b""):
                    first = time.perf_counter()
                tail = (tail + chunk)[-32:]
            if not tail.endswith(b"data: [DONE]\n\n"):
                response.failure("stream did not end with [DONE]")
        if first is not None:
            self._report("TTFT", (first - start) * 1000, 0)

    def _tokens(self) -> None:
        start = time.perf_counter()
        first: float | None = None
        last = start
        tokens = 0
        done = False
        buffer = b""
        with self._post(stream=True) as response:
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
        self._report("TTFT", (first - start) * 1000, tokens)
        if tokens > 1:
            self._report("TPOT", (last - first) * 1000 / (tokens - 1), tokens)
