"""Cancelled answers (issue 21 item 3), checked against the built-in target's truth log:
the requests loadgen reports cancelled are exactly those the target saw closed mid-stream
(matched by request id), they are their own outcome (not errors, not interrupted), their
histograms hold what each request received, and the target's slot is freed at the cancel."""

from __future__ import annotations

import csv
import json
import random
from itertools import pairwise
from pathlib import Path

import pytest
import yaml
from support import chat_profile, run_async

import loadgen
from loadgen import profile_from_dict
from loadgen.core.cancel import Cancel
from loadgen.core.errors import ProfileError
from loadgen.report import render_all
from loadgen.report.console import summary

TOKENS = 40
# One slot: a cancelled answer must hand its slot to the next request at once.
SLOW = {"timing": {"ttft": "5ms", "itl": "3ms"}, "capacity": {"slots": 1}}


def truth_by_id(path: Path) -> dict[str, dict]:
    return {d["id"]: d for d in map(json.loads, path.read_text().splitlines())}


def raw_rows(out: Path) -> list[dict[str, str]]:
    with (out / "requests.csv").open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def cancelling(cancel: dict, *, users: int = 3, duration: str = "1s") -> dict:
    data = chat_profile(users=users, duration=duration, builtin=SLOW, report={"raw": True})
    task = {"category": "simple", "output_tokens": TOKENS, "cancel": cancel}
    data["users"][0]["tasks"] = [{"chat": task}]
    return data


def run(tmp_path: Path, data: dict) -> tuple[loadgen.Result, list[dict[str, str]], dict]:
    truth_path, out = tmp_path / "truth.jsonl", tmp_path / "out"
    result = run_async(loadgen.run(profile_from_dict(data), out=out, truth=truth_path))
    return result, raw_rows(out), truth_by_id(truth_path)


def test_the_target_saw_exactly_the_cancellations_the_result_reports(tmp_path):
    """Half the answers are abandoned after 5 content events: the ids loadgen marks
    cancelled are the ids the target logged as closed by the client, each received 5 (or
    the rest of the read that brought the 5th) and the target wrote at least those and
    fewer than the whole answer; the others
    are whole answers; counts per scope and per second and both histograms agree; every
    request queued behind a cancelled one started the moment it was cancelled."""
    result, rows, truth = run(tmp_path, cancelling({"rate": "50%", "after": {"tokens": 5}}))
    ended = [r for r in rows if r["interrupted"] == "0"]
    cancelled = {r["request_id"] for r in ended if r["cancelled"] == "1"}
    closed = {i for i, t in truth.items() if t["reason"] == "client_closed"}
    assert len(cancelled) >= 3
    assert len(ended) - len(cancelled) >= 3
    assert cancelled == closed
    for r in ended:
        t = truth[r["request_id"]]
        assert r["error"] == ""
        if r["cancelled"] == "1":
            # 5, or a few more when the 5th came in one read with the next ones
            assert 5 <= int(r["content_events"]) <= t["completion_tokens"] < TOKENS
        else:
            assert int(r["content_events"]) == TOKENS == t["completion_tokens"]
            assert t["reason"] is None
    # The connection was closed: the user's next request opened a new one.
    by_id = {r["request_id"]: r for r in rows}
    followed = 0
    for rid in cancelled:
        run_tag, vu, seq = rid.rsplit("-", 2)
        after = by_id.get(f"{run_tag}-{vu}-{int(seq) + 1}")
        if after is not None:
            assert after["reused"] == "0"
            assert float(after["connect_ms"]) > 0
            followed += 1
    assert followed >= 2
    overall = result.data["scopes"]["overall"]
    assert overall["cancelled"] == len(cancelled)
    assert overall["requests"] == overall["ok"] == len(ended) - len(cancelled)
    assert overall["errors"] == 0
    (by_name,) = result.data["scopes"]["by_name"].values()
    assert by_name["cancelled"] == len(cancelled)
    assert sum(i.get("cancelled", 0) for i in result.data["intervals"]) == len(cancelled)
    m = overall["metrics"]
    assert m["time_to_cancel"]["count"] == m["cancel_tokens"]["count"] == len(cancelled)
    received = sorted(int(r["content_events"]) for r in ended if r["cancelled"] == "1")
    assert (m["cancel_tokens"]["min"], m["cancel_tokens"]["max"]) == (received[0], received[-1])
    assert m["e2e"]["count"] == overall["ok"]  # a cancelled answer is not an answered one

    # The slot is freed at the cancel: with one slot, when requests were waiting as an
    # answer was cancelled, one of them started then (the same callback of the target).
    def start(t: dict) -> float:
        return float(t["arrival"] + t["queue_wait"])

    handed = 0
    for c in (t for t in truth.values() if t["reason"] == "client_closed"):
        waiting = [t for t in truth.values() if t["arrival"] < c["end"] <= start(t) + 1e-4]
        if waiting:
            assert min(abs(start(t) - c["end"]) for t in waiting) < 0.002
            handed += 1
    assert handed >= 2
    assert result.exit_code == 0
    assert f"cancelled as the profile asked: {len(cancelled)} " in summary(result.data)
    files = render_all(result, tmp_path / "report", ["html", "csv"])
    html = next(f for f in files if f.suffix == ".html").read_text()
    assert f"{len(cancelled)} (not errors; time to cancel p50" in html
    with (tmp_path / "report" / "stats.csv").open(encoding="utf-8") as f:
        stats = next(csv.DictReader(f))  # overall
    assert int(stats["cancelled"]) == len(cancelled)
    assert int(stats["time_to_cancel_count"]) == len(cancelled)


@pytest.mark.parametrize(
    ("cancel", "events"),
    [
        pytest.param({"rate": 1.0, "after": {"time": "40ms"}}, None, id="after a time"),
        pytest.param({"rate": "100%", "before_first_token": True}, 0, id="before the first token"),
    ],
)
def test_every_answer_abandoned_is_cancelled_not_failed(tmp_path, cancel, events):
    """At rate 100% every request is cancelled — by a timer 40 ms after it was sent, or on
    the first body bytes before any is read — the target logs each as closed by the client,
    and the run passes: nothing failed and nothing was counted as a request."""
    result, rows, truth = run(tmp_path, cancelling(cancel, users=2, duration="0.5s"))
    ended = [r for r in rows if r["interrupted"] == "0"]
    assert len(ended) >= 2
    for r in ended:
        assert r["cancelled"] == "1"
        assert r["error"] == ""
        assert truth[r["request_id"]]["reason"] == "client_closed"
        if events is not None:
            assert int(r["content_events"]) == events
        else:  # cancelled 40 ms after the send, not before
            assert float(r["end"]) - float(r["send"]) >= 0.040
            written = truth[r["request_id"]]["completion_tokens"]
            assert int(r["content_events"]) <= written < TOKENS
    overall = result.data["scopes"]["overall"]
    assert (overall["requests"], overall["cancelled"]) == (0, len(ended))
    assert result.exit_code == 0, summary(result.data)


@pytest.mark.parametrize(
    ("cancel", "field", "problem"),
    [
        pytest.param({"after": {"tokens": 5}}, "cancel.rate", "missing rate", id="no rate"),
        pytest.param(
            {"rate": "150%", "after": {"tokens": 5}}, "cancel.rate", "150%", id="rate over 100%"
        ),
        pytest.param({"rate": 0.1}, "cancel.after", "exactly one", id="no point to cancel at"),
        pytest.param(
            {"rate": 0.1, "after": {"tokens": 5, "time": "1s"}},
            "cancel.after",
            "exactly one",
            id="two points",
        ),
        pytest.param(
            {"rate": 0.1, "after": {"tokens": 0}}, "cancel.after.tokens", "≥ 1", id="zero tokens"
        ),
        pytest.param(
            {"rate": 0.1, "after": {"time": "soon"}}, "cancel.after.time", "soon", id="bad time"
        ),
        pytest.param(
            {"rate": 0.1, "after": {"tokenz": 5}}, "cancel.after.tokenz", "tokens", id="typo"
        ),
    ],
)
def test_a_wrong_cancel_is_refused_naming_its_field(tmp_path, cancel, field, problem):
    """Validation names the file, the line, the field and what is wrong."""
    data = cancelling(cancel)
    path = tmp_path / "p.yaml"

    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(ProfileError) as err:
        loadgen.load_profile(path)
    text = str(err.value)
    assert f"{path}:" in text
    assert field in text
    assert problem in text


def test_a_valid_cancel_reads_as_its_model():
    """The three forms read into ``Cancel``; the draw is seeded."""

    for cancel, want in [
        ({"rate": "10%", "after": {"tokens": 20}}, Cancel(rate=0.1, tokens=20)),
        ({"rate": 0.5, "after": {"time": "2s"}}, Cancel(rate=0.5, time=2.0)),
        ({"rate": 1, "before_first_token": True}, Cancel(rate=1.0, before_first_token=True)),
        ({"rate": 1, "after": "before_first_token"}, Cancel(rate=1.0, before_first_token=True)),
    ]:
        profile = profile_from_dict(cancelling(cancel))
        chat = profile.users[0].tasks[0].chat
        assert chat is not None
        assert chat.cancel == want
    spec = Cancel(rate=0.3, tokens=1)
    draws = [spec.draw(random.Random(7)) for _ in range(3)]
    assert len(set(draws)) == 1  # the same seed, the same draw
    rng = random.Random(1)
    share = sum(spec.draw(rng) for _ in range(10_000)) / 10_000
    assert 0.27 < share < 0.33


def test_over_httpx_the_stream_is_closed_too(tmp_path):
    """With ``transport: httpx`` the abandoned response is closed unread: the target logs
    every cancelled request as closed by the client, and none of the others."""
    data = cancelling({"rate": "50%", "after": {"tokens": 3}}, users=2, duration="0.5s")
    data["target"]["transport"] = "httpx"
    result, rows, truth = run(tmp_path, data)
    ended = [r for r in rows if r["interrupted"] == "0"]
    cancelled = {r["request_id"] for r in ended if r["cancelled"] == "1"}
    assert cancelled
    assert cancelled == {i for i, t in truth.items() if t["reason"] == "client_closed"}
    assert result.data["scopes"]["overall"]["cancelled"] == len(cancelled)
    assert all(r["connect_ms"] != "" for r in ended)  # httpx records phases too
    by_vu: dict[str, list[dict[str, str]]] = {}
    for r in sorted(ended, key=lambda r: float(r["send"])):
        by_vu.setdefault(r["request_id"].split("-")[1], []).append(r)
    # A closed stream took its connection with it: the VU's next request connects anew.
    after = [b for seq in by_vu.values() for a, b in pairwise(seq) if a["cancelled"] == "1"]
    assert after
    assert all(b["reused"] == "0" and float(b["connect_ms"]) > 0 for b in after)
