"""Fuzzing the threshold expression parser: a Threshold or a ValueError that says why.

Thresholds arrive from profiles and ``--set``; a typo must be a profile error with a hint,
never another exception, and a well-formed expression must read back exactly what was written.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loadgen.core.thresholds import METRICS, SCOPES, Threshold, evaluate, parse

FUZZ = settings(max_examples=300, deadline=None)
ALPHABET = st.sampled_from([*"ttft.p95<>=!{}%/ms0123456789 _=,nameclass.e-+", "\u00a0", "é"])


@FUZZ
@given(st.text(max_size=40) | st.text(ALPHABET, max_size=40))
def test_any_text_parses_or_raises_value_error_with_a_hint(text):
    """Random text (and text made of the grammar's own characters) never escapes otherwise."""
    try:
        t = parse(text)
    except ValueError as exc:
        message = str(exc)
        t = None
    if t is None:
        assert message, "the error says what is wrong"
        return
    assert isinstance(t, Threshold)
    assert t.metric in METRICS
    assert t.op in ("<", "<=", ">", ">=", "==", "!=")
    assert not math.isnan(t.limit) or "nan" in text.lower()


@st.composite
def expressions(draw):
    metric = draw(st.sampled_from(sorted(METRICS)))
    stats, unit = METRICS[metric]
    stat = draw(st.sampled_from(stats))
    op = draw(st.sampled_from(["<", "<=", ">", ">=", "==", "!="]))
    number = draw(st.integers(0, 10**6))
    scope = draw(
        st.none()
        | st.tuples(st.sampled_from(SCOPES), st.from_regex(r"[a-z.]{1,8}", fullmatch=True))
    )
    if unit == "ms" and stat != "count":
        value, limit = f"{number}ms", float(number)
    elif stat == "rate" and metric not in ("requests", "rps", "output_tps", "input_tps"):
        pct = number % 101
        value, limit = f"{pct}%", pct / 100
    else:
        value, limit = str(number), float(number)
    where = f"{{{scope[0]}={scope[1]}}}" if scope else ""
    spaces = draw(st.sampled_from(["", " ", "  "]))
    expr = f"{metric}{where}.{stat}{spaces}{op}{spaces}{value}"
    return expr, metric, stat, op, limit, scope


@FUZZ
@given(expressions())
def test_well_formed_expressions_read_back_what_was_written(case):
    """Every metric, statistic, operator, scope and unit the grammar allows."""
    expr, metric, stat, op, limit, scope = case
    t = parse(expr)
    assert (t.metric, t.stat, t.op, t.scope) == (metric, stat, op, scope)
    assert t.limit == pytest.approx(limit)


@FUZZ
@given(expressions(), st.floats(allow_nan=False, allow_infinity=False, min_value=0, max_value=1e9))
def test_evaluating_against_a_result_without_that_scope_never_raises(case, value):
    """A parsed threshold judged against a small result: a verdict, never an exception."""
    t = parse(case[0])
    summary = {
        "count": 3,
        "mean": value,
        "p50": value,
        "p90": value,
        "p95": value,
        "p99": value,
        "p99.9": value,
        "max": value,
        "min": value,
    }
    overall = {
        "requests": 3,
        "errors": 1,
        "error_rate": 1 / 3,
        "errors_by_kind": {"timeout": 1},
        "interrupted": 0,
        "rps": 1.0,
        "output_tps": value,
        "metrics": dict.fromkeys(
            ("ttfb", "ttft", "itl", "tpot", "e2e", "output_tokens", "request_tps"), summary
        ),
    }
    data = {
        "scopes": {"overall": overall, "by_name": {}, "by_class": {}, "by_category": {}},
        "load": {"dropped": 0},
    }
    (verdict,) = evaluate([t], data)
    assert isinstance(verdict["ok"], bool)
