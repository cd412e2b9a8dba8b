"""Locust FastHttpUser in the paced regime: each SSE event read as it arrives, TTFT per request.

Run by benchmarks/paced_speed.py with the Python of Locust's own environment
(benchmarks/locust_env.sh), pinned to the client CPU:
``LOADGEN_PEER_LOG=FILE locust -f benchmarks/peers/locust_paced.py --headless -u N -r R
-t S --host URL``.

* Every request carries its own ``x-request-id``, which the built-in target writes in its
  truth log, so its TTFT is compared with the server's request by request, as loadgen's is.
* The answer is read with geventhttpclient's ``readline(b"\\n\\n")``: one SSE event per call,
  returned as soon as its bytes are in. (``response.stream.read(n)`` returns only once it
  holds n bytes or the whole answer, so a loop over it, as peers/locustfile.py's ``tokens``
  user does, stamps the first token at the answer's end: fine at zero delay, wrong here.)
  Each event is parsed with ``json.loads``, as Locust tests of LLM endpoints do, and TTFT
  (from this user's own send time) and TPOT go to Locust's stats as request types of their own.
* gevent has no event-loop lag figure of its own; a greenlet sleeping 10 ms and timing its
  overshoot measures the hub's, as loadgen's 10 ms probe measures its event loop's. Locust's
  own CPU monitor readings and its "CPU usage above 90%" warning are kept too; the monitor
  runs every second here instead of every 10 s (``locust.runners.CPU_MONITOR_INTERVAL``) so a
  run of seconds gets readings (psutil's first reading is always 0).

When the test stops, all of it goes to LOADGEN_PEER_LOG as one JSON document: ``requests``
(id, monotonic send time, TTFT ms or null, monotonic end time, content events, ok), ``lag``
([monotonic time, ms] per probe), ``cpu_usage`` ([monotonic time, %] per Locust reading),
``cpu_warning`` (the readings it warned at).
"""

from __future__ import annotations

import itertools
import json
import os
import time
from typing import Any

import gevent
import locust.runners
from chat_request import BODY, HEADERS, PATH  # beside this file: Locust puts its dir on the path
from locust import FastHttpUser, constant, events, task

locust.runners.CPU_MONITOR_INTERVAL = 1.0  # read by the monitor's loop on each turn

LOG = os.environ.get("LOADGEN_PEER_LOG", "")
PROBE = 0.01  # seconds between lag samples, as loadgen's tick
_ids = itertools.count(1)
_requests: list[list[Any]] = []
_lag: list[list[float]] = []
_cpu: list[list[float]] = []
_warned: list[float] = []


class PacedChat(FastHttpUser):
    wait_time = constant(0)

    @task
    def chat(self) -> None:
        rid = f"locust-{os.getpid()}-{next(_ids)}"
        sent = time.monotonic()
        first: float | None = None
        last = sent
        tokens = 0
        done = False
        headers = {**HEADERS, "x-request-id": rid}
        with self.client.post(
            PATH, data=BODY, headers=headers, stream=True, catch_response=True
        ) as response:
            stream = response.stream
            while event := stream.readline(b"\n\n"):
                data = event.strip().removeprefix(b"data: ")
                if data == b"[DONE]":
                    done = True
                    continue
                choices = json.loads(data).get("choices") or [{}]
                if choices[0].get("delta", {}).get("content"):
                    now = time.monotonic()
                    tokens += 1
                    first = first or now
                    last = now
            if not done:
                response.failure("stream did not end with [DONE]")
        ttft = (first - sent) * 1000 if first is not None else None
        _requests.append([rid, sent, ttft, time.monotonic(), tokens, done])
        if ttft is not None:
            self._report("TTFT", ttft, tokens)
        if first is not None and tokens > 1:
            self._report("TPOT", (last - first) * 1000 / (tokens - 1), tokens)

    def _report(self, kind: str, ms: float, tokens: int) -> None:
        self.environment.events.request.fire(
            request_type=kind,
            name=PATH,
            response_time=ms,
            response_length=tokens,
            exception=None,
            context={},
        )


def _probe() -> None:
    while True:
        due = time.monotonic() + PROBE
        gevent.sleep(PROBE)
        now = time.monotonic()
        _lag.append([now, max(0.0, now - due) * 1000])


@events.test_start.add_listener
def _start(environment: Any, **_: Any) -> None:
    gevent.spawn(_probe)


@events.usage_monitor.add_listener
def _usage(environment: Any, cpu_usage: float, **_: Any) -> None:
    _cpu.append([time.monotonic(), cpu_usage])


@events.cpu_warning.add_listener
def _warning(environment: Any, cpu_usage: float, **_: Any) -> None:
    _warned.append(cpu_usage)


@events.test_stop.add_listener
def _stop(environment: Any, **_: Any) -> None:
    if LOG:
        document = {"requests": _requests, "lag": _lag, "cpu_usage": _cpu, "cpu_warning": _warned}
        with open(LOG, "w") as f:
            json.dump(document, f)
