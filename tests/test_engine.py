"""The engine end to end against the built-in target: numbers checked against its truth log."""

from __future__ import annotations

import csv
import json
import statistics
from pathlib import Path

import pytest
from support import chat_profile, run_async

import loadgen
from loadgen import Engine, profile_from_dict

EXACT = {
    "timing": {"ttft": "200ms", "itl": "20ms", "output_tokens": 16},
    "capacity": {"slots": 0},
    "seed": 3,
}


def truth_by_id(path: Path) -> dict[str, dict]:
    return {d["id"]: d for d in map(json.loads, path.read_text().splitlines())}


def test_ttft_and_itl_match_injected_delays_request_by_request(tmp_path):
    """50 VUs against ttft 200 ms / itl 20 ms: p50s within 5 ms and 2 ms, and every request's
    measured first token within a few ms of when the target wrote it (truth log, by id)."""
    data = chat_profile(users=50, duration="6s", builtin=EXACT, report={"raw": True})
    data["load"]["ramp_up"] = "1s"  # VUs arrive over a second, as in any real test
    truth_path = tmp_path / "truth.jsonl"
    result = run_async(loadgen.run(profile_from_dict(data), out=tmp_path / "out", truth=truth_path))
    m = result.metrics
    assert result.requests > 300
    assert result.errors == {}
    assert m["ttft"].p50 == pytest.approx(200, abs=5)
    assert m["itl"].p50 == pytest.approx(20, abs=2)
    assert m["itl"].count == result.requests * 15  # one gap per pair of 16 tokens
    truth = truth_by_id(truth_path)
    with (tmp_path / "out" / "requests.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == result.requests
    lags, ttft_errors = [], []
    for row in rows:
        t = truth[row["request_id"]]  # every request reached the target
        assert len(t["tokens"]) == int(row["content_events"]) == 16
        lags.append((float(row["first_token"]) - t["first_token"]) * 1000)
        server_ttft = (t["first_token"] - t["arrival"]) * 1000
        ttft_errors.append(float(row["ttft_ms"]) - server_ttft)
    assert min(lags) >= 0  # one clock: never before the write
    assert statistics.median(lags) < 2  # first token seen within ~ms
    assert statistics.median(ttft_errors) < 5  # transit both ways, not more


def test_sigterm_half_way_leaves_a_valid_result_with_the_intervals_so_far(tmp_path):
    """A run stopped by SIGTERM writes result.json (exit 130) with the seconds it ran."""
    import signal
    import subprocess
    import sys
    import time

    profile = tmp_path / "p.yaml"
    profile.write_text(
        json.dumps(chat_profile(users=5, duration="60s", builtin={"timing": {"ttft": "50ms"}}))
    )
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "loadgen", str(profile), "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    journal = out / "result.jsonl"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if journal.exists() and journal.read_text().count('"type":"interval"') >= 3:
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    _stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stderr.decode()
    result = loadgen.load_result(out / "result.json")
    assert result.interrupted
    assert result.data["run"]["stop_reason"] == "interrupted by SIGTERM"
    assert 3 <= len(result.intervals) < 30
    assert result.requests > 0
    assert b"Traceback" not in stderr


def test_embedding_snapshots_and_stop_from_outside():
    """An embedder iterates live snapshots and stops the engine; the result is typed."""

    async def main() -> tuple[list[dict], loadgen.Result]:
        profile = profile_from_dict(
            chat_profile(users=3, duration="30s", builtin={"timing": {"ttft": "20ms"}})
        )
        seen: list[dict] = []
        async with Engine(profile) as engine:

            async def watch() -> None:
                async for snap in engine.snapshots():
                    seen.append(snap)
                    if len(seen) == 2:
                        engine.stop("enough", interrupted=False)

            import asyncio

            watcher = asyncio.create_task(watch())
            result = await engine.run()
            await watcher
        return seen, result

    seen, result = run_async(main())
    assert len(seen) >= 2
    assert seen[0]["users"] == 3
    assert result.data["run"]["stop_reason"] == "enough"
    assert result.exit_code == 0
    assert isinstance(result.metrics["ttft"], loadgen.MetricSummary)
    assert result.metrics["ttft"].p50 >= 20


def test_stages_ramp_users_up_and_down():
    """Active users follow the stage plan: 0 → 10 over 2 s, hold, then down to 0."""
    data = chat_profile(builtin={"timing": {"ttft": "20ms", "itl": "5ms"}}, think="100ms")
    data["load"] = {
        "stages": [
            {"duration": "2s", "users": 10},
            {"duration": "2s", "users": 10},
            {"duration": "2s", "users": 0},
        ],
        "graceful_stop": "2s",
    }
    result = run_async(loadgen.run(profile_from_dict(data)))
    users = [i["users"] for i in result.intervals]
    assert users[0] <= 6  # ramping during the first second
    assert max(users) == 10
    assert users[3] == 10  # holding
    assert users[5] <= 5  # ramping down


def test_user_classes_and_tasks_follow_weights_with_a_seed():
    """Class mix is exact (smooth round robin); task mix follows weights; names key scopes."""
    data = chat_profile(users=8, duration="3s", builtin={"timing": {"ttft": "5ms", "itl": "1ms"}})
    data["users"] = [
        {
            "name": "a",
            "weight": 3,
            "tasks": [
                {"weight": 3, "chat": {"category": "simple"}},
                {"weight": 1, "chat": {"category": "complex"}},
            ],
        },
        {"name": "b", "weight": 1, "tasks": [{"http": {"path": "/health"}}]},
    ]
    result = run_async(loadgen.run(profile_from_dict(data)))
    by_class = result.data["scopes"]["by_class"]
    assert set(by_class) == {"a", "b"}
    names = result.data["scopes"]["by_name"]
    simple, complex_ = names["chat.simple"]["requests"], names["chat.complex"]["requests"]
    assert simple / (simple + complex_) == pytest.approx(0.75, abs=0.08)
    assert names["GET /health"]["errors"] == 0
    assert names["GET /health"]["metrics"]["e2e"]["count"] > 0
    assert set(result.data["scopes"]["by_category"]) == {"simple", "complex"}


def test_requests_cut_at_the_end_are_interrupted_not_errors():
    """A 0.5 s grace period cancels long answers: they count as interrupted."""
    data = chat_profile(
        users=4,
        duration="1s",
        builtin={"timing": {"ttft": "10ms", "itl": "100ms", "output_tokens": 100}},
    )
    data["load"]["graceful_stop"] = "500ms"
    result = run_async(loadgen.run(profile_from_dict(data)))
    overall = result.overall
    assert overall["interrupted"] == 4
    assert overall["errors"] == 0
    assert result.data["run"]["duration"] < 3


def test_target_faults_are_counted_by_kind_and_the_run_goes_on():
    """500s, 429s, dropped streams and malformed chunks become error kinds, not crashes."""
    data = chat_profile(
        users=6,
        duration="3s",
        builtin={
            "timing": {"ttft": "5ms", "itl": "2ms", "output_tokens": 8},
            "faults": {
                "http_500": 0.1,
                "http_429": {"rate": 0.1, "retry_after": "1s"},
                "drop_mid_stream": 0.1,
                "malformed_chunk": 0.1,
            },
            "seed": 5,
        },
    )
    result = run_async(loadgen.run(profile_from_dict(data)))
    errors = result.errors
    assert {"http_5xx", "http_429", "stream_broken", "protocol"} <= set(errors)
    overall = result.overall
    assert overall["ok"] > overall["errors"]  # the others kept going
    assert sum(errors.values()) / overall["requests"] == pytest.approx(0.34, abs=0.12)
    assert result.data["run"]["internal_errors"] == []


@pytest.mark.parametrize("transport", ["fast", "httpx"])
def test_both_transports_measure_the_same_stream(transport):
    """The lean client and httpx agree on tokens, usage and ttft."""
    data = chat_profile(
        users=4,
        duration="2s",
        builtin={
            "timing": {"ttft": "50ms", "itl": "10ms", "output_tokens": 12},
            "capacity": {"slots": 0},
        },
    )
    data["target"]["transport"] = transport
    result = run_async(loadgen.run(profile_from_dict(data)))
    assert result.errors == {}
    assert result.overall["output_tokens"] == result.requests * 12
    assert result.overall["token_source"] == {"usage": result.requests}
    assert result.metrics["ttft"].p50 == pytest.approx(50, abs=8)


def test_non_streamed_json_answers_are_timed_too():
    """stream: false gets one JSON completion: ttft = e2e, tokens from usage."""
    data = chat_profile(
        users=2,
        duration="2s",
        tasks=[{"chat": {"category": "simple", "stream": False}}],
        builtin={"timing": {"ttft": "30ms", "itl": "1ms", "output_tokens": 5}},
    )
    result = run_async(loadgen.run(profile_from_dict(data)))
    assert result.errors == {}
    assert result.overall["output_tokens"] == 5 * result.requests
    assert result.metrics["ttft"].p50 == pytest.approx(result.metrics["e2e"].p50, rel=0.05)


def test_an_unreachable_target_does_not_start(capsys, tmp_path):
    """Nothing listening: exit 2 with the address and a hint, no traceback."""
    from loadgen.cli.commands import main

    profile = tmp_path / "p.yaml"
    profile.write_text(json.dumps(chat_profile("http://127.0.0.1:9")))
    assert main(["run", str(profile), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "cannot reach http://127.0.0.1:9" in err
    assert "CHATBOT_URL" in err
    assert "Traceback" not in err


def test_a_graceful_stop_records_the_users_still_finishing_their_answers():
    """Answers of ~2.5 s outlive a 1 s plan: the seconds after its end record users 0 (none is
    recruiting) but ``finishing`` > 0 while their answers complete, so the report's active users
    do not drop to 0 before the requests do."""
    from loadgen.report.series import time_series

    timing = {"ttft": "1500ms", "itl": "100ms", "output_tokens": 10}
    data = chat_profile(
        users=4, duration="1s", builtin={"timing": timing, "capacity": {"slots": 0}}
    )
    result = run_async(loadgen.run(profile_from_dict(data)))
    after = [i for i in result.intervals if i["t"] >= 1.0]
    assert after
    assert all(i["users"] == 0 for i in after)
    completing = [i for i in after if i["requests"]]
    assert completing  # the answers completed during the graceful stop ...
    assert max(i["finishing"] for i in after) == 4  # ... while their users were still drawn
    drawn = time_series(result.intervals, plan_end=1.0)
    assert drawn.values["users"][-1] > 0  # the graceful stop's window, with its final tail
    assert drawn.values["planned"][1:] == [None] * (len(drawn.t) - 1)


def test_stop_now_cancels_the_requests_in_flight_without_waiting_for_the_grace():
    """``stop_now()`` (a second Ctrl-C) ends a 60 s graceful stop at once: the requests in
    flight are counted interrupted, not errors, and the engine reports how many there were."""

    async def main() -> tuple[int, float, loadgen.Result]:
        data = chat_profile(users=3, duration="60s", builtin={"timing": {"ttft": "30s"}})
        data["load"]["graceful_stop"] = "60s"
        import asyncio
        import time

        async with Engine(profile_from_dict(data)) as engine:
            runner = asyncio.create_task(engine.run())
            for _ in range(100):  # every VU is waiting on its first token
                await asyncio.sleep(0.05)
                if engine.in_flight == 3:
                    break
            in_flight = engine.in_flight
            engine.stop("first Ctrl-C")
            await asyncio.sleep(0.5)
            assert not runner.done()  # the first stop waits for the answers
            engine.stop_now("second Ctrl-C")
            stopped = time.monotonic()
            result = await runner
            return in_flight, time.monotonic() - stopped, result

    in_flight, took, result = run_async(main())
    assert in_flight == 3
    assert took < 10  # not the 60 s grace, nor the 30 s answer
    overall = result.data["scopes"]["overall"]
    assert overall["interrupted"] == 3
    assert overall["errors"] == 0
    assert result.data["run"]["stop_reason"] == "first Ctrl-C"
    assert result.exit_code == 130
