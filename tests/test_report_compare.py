"""`loadgen compare` and `loadgen report`: regressions flagged for CI, bad input is exit 2."""

from __future__ import annotations

import copy
import json

import pytest
from report_helpers import cached_run

from loadgen.report.cli import compare_main, report_main
from loadgen.report.compare import compare


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return cached_run(tmp_path_factory, "base"), cached_run(tmp_path_factory, "slow")


def test_a_slower_target_is_flagged_and_exits_1(runs, tmp_path, capsys):
    """TTFT median 120 → 400 ms: overall and per-name TTFT regress; exit 1; HTML written."""
    base, slow = runs
    out = tmp_path / "cmp.html"
    assert compare_main([str(base.path), str(slow.path), "-o", str(out)]) == 1
    printed = capsys.readouterr().out
    assert any(
        ln.startswith("overall") and "ttft.p95" in ln and ln.endswith("REGRESSION")
        for ln in printed.splitlines()
    )
    html = out.read_text()
    assert 'class="badge">REGRESSED<' in html
    assert '<tr class="regression" data-metric="ttft.p95">' in html
    c = compare(base.data, slow.data)
    flagged = {(d.scope, d.metric) for d in c.regressions}
    assert {
        ("overall", "ttft.p50"),
        ("overall", "ttft.p95"),
        ("chat.simple", "ttft.p50"),
    } <= flagged


def test_a_result_compared_with_itself_passes(runs, tmp_path, capsys):
    base, _ = runs
    assert compare_main([str(base.path), str(base.path), "--no-html"]) == 0
    assert "no regression beyond tolerance" in capsys.readouterr().out


def scope(**metrics):
    m = {k: {"count": 100, **v} for k, v in metrics.items()}
    return {
        "requests": 100,
        "errors": 0,
        "error_rate": 0.0,
        "rps": 10.0,
        "output_tokens": 5,
        "output_tps": 50.0,
        "metrics": m,
    }


def doc(overall):
    return {"scopes": {"overall": overall, "by_name": {}}}


@pytest.mark.parametrize(
    ("base", "new", "verdict"),
    [
        pytest.param(
            scope(ttft={"p95": 100.0}),
            scope(ttft={"p95": 109.0}),
            "same",
            id="latency up 9 percent is within the 10 percent tolerance",
        ),
        pytest.param(
            scope(ttft={"p95": 100.0}),
            scope(ttft={"p95": 120.0}),
            "regression",
            id="latency up 20 percent regresses",
        ),
        pytest.param(
            scope(ttft={"p95": 0.4}),
            scope(ttft={"p95": 0.6}),
            "same",
            id="a sub-millisecond change is below the 1 ms floor",
        ),
        pytest.param(
            scope(ttft={"p95": 100.0}),
            scope(ttft={"p95": 80.0}),
            "improvement",
            id="latency down 20 percent improves",
        ),
    ],
)
def test_latency_rules(base, new, verdict):
    c = compare(doc(base), doc(new), metrics=["ttft.p95"])
    assert [d.verdict for d in c.diffs] == [verdict]


def test_throughput_drop_and_error_rise_regress():
    base, new = scope(), scope()
    new["rps"] = 8.0
    new["error_rate"] = 0.02
    c = compare(doc(base), doc(new), metrics=["rps", "error_rate"])
    assert [(d.metric, d.verdict) for d in c.diffs] == [
        ("error_rate", "regression"),
        ("rps", "regression"),
    ]
    assert c.diffs[0].cells()[2] == "+2.00 pp"


def test_small_scopes_and_missing_names_are_not_judged():
    base, new = scope(ttft={"p95": 100.0}), scope(ttft={"p95": 500.0})
    base["requests"] = 5
    b, n = doc(base), doc(new)
    n["scopes"]["by_name"]["only.new"] = scope()
    c = compare(b, n, metrics=["ttft.p95"])
    assert not c.regressions
    assert any("only in the new result" in note for note in c.notes)


def test_report_rerenders_every_format(runs, tmp_path, capsys):
    base, _ = runs
    assert report_main([str(base.path.parent), "-o", str(tmp_path)]) == 0
    names = {p.name for p in tmp_path.iterdir()}
    assert {
        "report.html",
        "stats.csv",
        "history.csv",
        "failures.csv",
        "junit.xml",
        "latency.hlog",
    } <= names
    assert str(tmp_path / "report.html") in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(None, "no such file", id="a missing file"),
        pytest.param("not json", "not valid JSON", id="a file that is not JSON"),
        pytest.param('{"schema": "other/1"}', "not a loadgen result", id="another schema"),
        pytest.param(
            '{"schema": "loadgen.result/1", "run": {}}',
            "incomplete result",
            id="a result without scopes",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, content, message):
    """Both commands name the file and the fix on one line; never a traceback."""
    path = tmp_path / "result.json"
    if content is not None:
        path.write_text(content)
    assert report_main([str(path)]) == 2
    assert compare_main([str(path), str(path)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2
    for line in err:
        assert line.startswith(f"error: {path}: ")
        assert message in line
        assert " — " in line


def test_malformed_scopes_are_reported_not_raised(runs, tmp_path, capsys):
    base, _ = runs
    data = copy.deepcopy(base.data)
    del data["scopes"]["overall"]["metrics"]
    path = tmp_path / "result.json"
    path.write_text(json.dumps(data))
    assert report_main([str(path), "-o", str(tmp_path / "out")]) == 2
    assert "malformed result" in capsys.readouterr().err


def test_usage_mistakes_exit_2(runs, capsys):
    base, _ = runs
    assert report_main([str(base.path), "--format", "pdf"]) == 2
    assert compare_main([str(base.path)]) == 2
    assert compare_main([str(base.path), str(base.path), "--metrics", "ttft.p42"]) == 2
    assert "Traceback" not in capsys.readouterr().err
