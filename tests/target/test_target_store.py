"""Multipart uploads, conversations, the cache and the truth log and metrics text (no sockets)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loadgen.target.metrics import Metrics
from loadgen.target.multipart import boundary_of, parse_multipart
from loadgen.target.store import Cache, Conversations
from loadgen.target.truth import TruthLog, truth_record


def test_multipart_parts() -> None:
    """Fields and files come out with names, filenames, types and exact bytes."""
    body = (
        b'--XyZ\r\nContent-Disposition: form-data; name="title"\r\n\r\nDoc\r\n'
        b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n'
        b"Content-Type: text/plain\r\n\r\nline1\r\nline2\r\n--XyZ--\r\n"
    )
    parts = parse_multipart(body, boundary_of("multipart/form-data; boundary=XyZ"))
    assert [(p.name, p.filename, p.data) for p in parts] == [
        ("title", None, b"Doc"),
        ("file", "a.txt", b"line1\r\nline2"),
    ]
    assert parts[1].content_type == "text/plain"


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b"{}"),
        ("multipart/form-data", b""),
        ("multipart/form-data; boundary=B", b"--B\r\nno end"),
    ],
    ids=["not multipart", "no boundary", "no closing boundary"],
)
def test_multipart_errors(content_type: str, body: bytes) -> None:
    """Malformed uploads raise ValueError with a reason."""
    with pytest.raises(ValueError, match=r"multipart"):
        parse_multipart(body, boundary_of(content_type))


def test_conversations_belong_to_their_user() -> None:
    """A conversation id is reused by its owner and refused to others."""
    convs = Conversations()
    conv = convs.get_or_create(None, "u1")
    assert conv is not None
    assert convs.get_or_create(conv.id, "u1") is conv
    assert convs.get_or_create(conv.id, "u2") is None


def test_cache_counts_repeats() -> None:
    """A repeated question is a hit; clear empties it."""
    cache = Cache()
    assert [cache.lookup(q) for q in ("a", "b", "a")] == [False, False, True]
    assert cache.stats()["hit_rate"] == pytest.approx(1 / 3)
    assert cache.clear() == 2


def test_truth_log_buffers_until_flush(tmp_path: Path) -> None:
    """Lines are written on flush (timer) and on close, one JSON object each."""
    log = TruthLog(tmp_path / "t.jsonl")
    log.add(
        truth_record(
            id="r1",
            route="/x",
            arrival=1.0,
            wall=2.0,
            first_token=1.1,
            tokens=[1.1, 1.2],
            end=1.3,
            bytes=10,
            status=200,
            fault=None,
            queue_wait=0.0,
        )
    )
    assert (tmp_path / "t.jsonl").read_text() == ""
    log.close()
    line = json.loads((tmp_path / "t.jsonl").read_text())
    assert line["id"] == "r1"
    assert line["completion_tokens"] == 2


def test_metrics_text() -> None:
    """Counters and gauges in Prometheus text format with HELP and TYPE lines."""
    metrics = Metrics()
    metrics.requests["/v1/chat/completions", 200] += 3
    metrics.faults["stall"] += 1
    text = metrics.render({"loadgen_target_queue_depth": ("Waiting.", 2)})
    assert 'loadgen_target_requests_total{route="/v1/chat/completions",status="200"} 3' in text
    assert 'loadgen_target_faults_total{kind="stall"} 1' in text
    assert "# TYPE loadgen_target_queue_depth gauge\nloadgen_target_queue_depth 2\n" in text
