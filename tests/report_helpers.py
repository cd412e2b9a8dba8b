"""Real results for the report tests: one short run against the built-in target per module,
plus the shapes other issues fill (thresholds, SLOs, breakpoint, health, counters) derived
from that run's own numbers, so fixtures stay consistent with real data."""

from __future__ import annotations

import copy
import html.parser
from pathlib import Path
from typing import Any

from support import chat_profile, run_async

import loadgen
from loadgen.core.result import Result

TIMING = {
    "ttft": {"lognormal": {"median": "120ms", "sigma": 0.4}},
    "itl": {"uniform": ["5ms", "15ms"]},
    "output_tokens": {"uniform": [8, 24]},
}


def profile_dict(*, ttft: Any = None, faults: bool = True, duration_scale: float = 1.0) -> dict:
    """Two user classes, three request names, three stages (the second a named phase, from
    1.2 s to 3.2 s: off whole seconds); optional injected 500s/429s."""
    timing = dict(TIMING)
    if ttft is not None:
        timing["ttft"] = ttft
    builtin: dict[str, Any] = {"timing": timing, "capacity": {"slots": 0}, "seed": 5}
    if faults:
        builtin["faults"] = {"http_500": 0.05, "http_429": 0.03}
    data = chat_profile(users=12, duration="5s", builtin=builtin, report={"raw": True})
    data["users"] = [
        {
            "name": "regular",
            "weight": 3,
            "think_time": {"uniform": ["50ms", "150ms"]},
            "tasks": [
                {"weight": 3, "chat": {"category": "simple"}},
                {"weight": 1, "chat": {"category": "complex"}},
            ],
        },
        {
            "name": "monitor",
            "weight": 1,
            "think_time": {"constant": "200ms"},
            "tasks": [{"http": {"path": "/health"}}],
        },
    ]
    s = duration_scale
    data["load"] = {
        "stages": [
            {"duration": f"{1.2 * s}s", "users": 12},
            {"duration": f"{2.0 * s}s", "users": 12, "name": "steady"},
            {"duration": f"{1.0 * s}s", "users": 4},
        ],
        "graceful_stop": "2s",
    }
    return data


def real_run(out: Path, **kw: Any) -> Result:
    """About 5 s against the built-in target on loopback; writes result.json into ``out``."""
    return run_async(loadgen.run(loadgen.profile_from_dict(profile_dict(**kw)), out=out))


def enrich(data: dict[str, Any]) -> dict[str, Any]:
    """Add thresholds (one fails), SLOs, a breakpoint, health warnings and custom counters."""
    d = copy.deepcopy(data)
    m = d["scopes"]["overall"]["metrics"]
    p95 = m["ttft"]["p95"]
    simple = d["scopes"]["by_name"]["chat.simple"]["metrics"]["e2e"]["p95"]
    d["thresholds"] = [
        {
            "expr": "ttft.p95 < 5s",
            "metric": "ttft",
            "stat": "p95",
            "scope": {},
            "op": "<",
            "limit": 5000.0,
            "unit": "ms",
            "value": p95,
            "ok": True,
            "abort_on_fail": False,
        },
        {
            "expr": "e2e.p95{name:chat.simple} < 1ms",
            "metric": "e2e",
            "stat": "p95",
            "scope": {"name": "chat.simple"},
            "op": "<",
            "limit": 1.0,
            "unit": "ms",
            "value": simple,
            "ok": False,
            "abort_on_fail": False,
        },
    ]
    d["slo"] = [
        {
            "expr": "ttft_p95 < 2s",
            "metric": "ttft",
            "stat": "p95",
            "scope": {},
            "op": "<",
            "limit": 2000.0,
            "unit": "ms",
            "value": p95,
            "ok": True,
            "abort_on_fail": False,
        },
    ]
    steps = []
    for i, level in enumerate((10, 20, 30, 40, 50)):
        broken = level >= 40
        steps.append(
            {
                "level": level,
                "start": i * 30.0,
                "end": (i + 1) * 30.0,
                "warmup": 5.0,
                "rps": 10.0 * level / 10,
                "goodput": 10.0 * level / 10 * (0.4 if broken else 1.0),
                "ttft": {"p50": 100.0 + i * 50, "p95": 150.0 + i * 80, "p99": 200.0 + i * 90},
                "e2e_p95": 900.0 + i * 200,
                "itl_p99": 20.0 + i,
                "error_rate": 0.01 * i,
                "verdict": "broken" if broken else ("generator-limited" if level == 30 else "ok"),
                "broken_by": ["ttft_p95 390 ms > 300 ms"] if broken else [],
            }
        )
    d["breakpoint"] = {
        "unit": "users",
        "steps": steps,
        "highest_ok": 30,
        "first_broken": 40,
        "broken_by": ["ttft_p95 390 ms > 300 ms"],
        "knee": 35,
    }
    d["health"] = dict(
        d.get("health") or {},
        limited=True,
        warnings=[
            {
                "t": 1.0,
                "until": 2.0,
                "what": "schedule lag p99 23 ms > 10 ms",
                "plain": "the generator, not the target, limited the test from 1s to 2s "
                "(schedule lag p99 23 ms > 10 ms)",
            }
        ],
    )
    d["custom"] = {"counters": {"citations_seen": 42, "retries": 3}}
    return d


class Tables(html.parser.HTMLParser):
    """Every <table id=...> as its header keys (``data-key``) and rows of cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, dict[str, Any]] = {}
        self.ids: list[str] = []
        self.links: list[tuple[str, str, str]] = []
        self._table: dict[str, Any] | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._section = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.append(str(a["id"]))
        for attr in ("src", "href", "xlink:href", "action", "data", "poster"):
            if a.get(attr):
                self.links.append((tag, attr, str(a[attr])))
        if tag == "table":
            self._table = self.tables.setdefault(
                str(a.get("id") or len(self.tables)), {"keys": [], "rows": [], "foot": []}
            )
        elif self._table is not None:
            if tag == "tfoot":
                self._section = "foot"
            elif tag == "tbody":
                self._section = "body"
            elif tag == "tr":
                self._row = []
            elif tag in ("td", "th"):
                self._cell = []
                if tag == "th" and a.get("data-key"):
                    self._table["keys"].append(a["data-key"])

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            if self._section == "body":
                self._table["rows"].append(self._row)
            elif self._section == "foot":
                self._table["foot"].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None
            self._section = ""

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def parse(html_text: str) -> Tables:
    t = Tables()
    t.feed(html_text)
    return t


_RUNS: dict[str, Result] = {}


def cached_run(factory: Any, kind: str = "base") -> Result:
    """One real run per kind for the whole session, shared by every report test module.

    ``factory`` is pytest's ``tmp_path_factory``; ``kind`` is ``base`` or ``slow`` (the same
    profile against a target whose TTFT median is 400 ms instead of 120 ms).
    """
    if kind not in _RUNS:
        out = factory.mktemp(f"run-{kind}")
        ttft = {"lognormal": {"median": "400ms", "sigma": 0.4}} if kind == "slow" else None
        _RUNS[kind] = real_run(out, ttft=ttft)
    return _RUNS[kind]
