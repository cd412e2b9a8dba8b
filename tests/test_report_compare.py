"""`loadgen compare` and `loadgen report`: regressions flagged for CI, bad input is exit 2."""

from __future__ import annotations

import copy
import json

import pytest
from report_helpers import cached_run
from support import chat_profile, run_async

import loadgen
from loadgen.cli.report import compare_main, report_main
from loadgen.core.hist import Histogram
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
    ("base_ms", "new_ms", "verdict"),
    [
        pytest.param(
            100.0, 109.0, "same", id="latency up 9 percent is within the 10 percent tolerance"
        ),
        pytest.param(100.0, 120.0, "regression", id="latency up 20 percent regresses"),
        pytest.param(0.4, 0.6, "same", id="a sub-millisecond change is below the 1 ms floor"),
        pytest.param(100.0, 80.0, "improvement", id="latency down 20 percent improves"),
    ],
)
def test_latency_rules(base_ms, new_ms, verdict):
    """The TTFT p95 of two results, in ms, compared under the default tolerance and floor."""
    base, new = scope(ttft={"p95": base_ms}), scope(ttft={"p95": new_ms})
    c = compare(doc(base), doc(new), metrics=["ttft.p95"])
    assert [d.verdict for d in c.diffs] == [verdict]


def hist_scope(metric: str, values_ms: list[float], answers: int) -> dict:
    """A scope whose ``metric`` holds these values in a real histogram, from ``answers``."""
    h = Histogram()
    for v in values_ms:
        h.record_us(round(v * 1000))
    s = scope()
    s["requests"] = answers
    s["metrics"] = {
        metric: {**h.summary(), "hdr": h.encode()},
        "tpot": {"count": answers},
    }
    return s


# 40 answers of 15 gaps, most at 10 ms; the p99 (rank 594 of 600) is the sixth of twelve
# slow gaps, 13.8 ms in the base and 16.9 ms in the new run.
NOISY_BASE = [10.0] * 588 + [12.0, 12.5, 13.0, 13.2, 13.5, 13.8, 14.0, 14.5, 15.0, 15.5, 16.0, 17.0]
NOISY_NEW = [10.0] * 588 + [12.5, 13.5, 14.5, 15.5, 16.0, 16.9, 17.0, 17.5, 18.0, 18.5, 19.0, 20.0]


def test_the_noisy_samples_have_the_issues_p99s():
    """The table below is the case of issue #17: an ITL p99 of 13.8 ms, then 16.9 ms."""
    p99s = [hist_scope("itl", v, 40)["metrics"]["itl"]["p99"] for v in (NOISY_BASE, NOISY_NEW)]
    assert p99s == [pytest.approx(13.8, rel=2e-3), pytest.approx(16.9, rel=2e-3)]


@pytest.mark.parametrize(
    ("base_ms", "new_ms", "confidence", "verdict"),
    [
        pytest.param(
            NOISY_BASE,
            NOISY_NEW,
            0.95,
            "within noise",
            id="an itl p99 of 13.8 to 16.9 ms resting on a dozen gaps of 40 answers is noise",
        ),
        pytest.param(
            NOISY_BASE,
            NOISY_NEW,
            0.0,
            "regression",
            id="the same change regresses when confidence 0 turns the noise rule off",
        ),
        pytest.param(
            [10.0] * 600,
            [13.0] * 600,
            0.95,
            "regression",
            id="every gap 3 ms slower regresses however few the answers",
        ),
        pytest.param(
            NOISY_NEW,
            NOISY_BASE,
            0.95,
            "within noise",
            id="a drop resting on the same dozen gaps is not an improvement either",
        ),
    ],
)
def test_noise_rule(base_ms, new_ms, confidence, verdict):
    """A latency change past the floors counts only when the 95 % intervals do not overlap
    (the ITL gaps of 40 answers, in ms)."""
    base, new = hist_scope("itl", base_ms, 40), hist_scope("itl", new_ms, 40)
    c = compare(doc(base), doc(new), metrics=["itl.p99"], confidence=confidence)
    assert [d.verdict for d in c.diffs] == [verdict]


@pytest.mark.parametrize(
    ("metric", "values"),
    [
        pytest.param("ttft", [20.0, 21.0, 22.0, 24.0] * 50, id="ttft with one sample per answer"),
        pytest.param("itl", [10.0, 11.0, 12.0, 14.0] * 150, id="itl with fifteen gaps per answer"),
    ],
)
def test_a_fourfold_slowdown_regresses_under_the_noise_rule(metric, values):
    """20 → 80 ms is far outside any interval: every percentile regresses."""
    base = hist_scope(metric, values, 40 if metric == "itl" else len(values))
    new = hist_scope(metric, [v * 4 for v in values], 40 if metric == "itl" else len(values))
    keys = [
        m
        for m in ("ttft.p50", "ttft.p95", "ttft.p99", "itl.p50", "itl.p99")
        if m.startswith(metric)
    ]
    c = compare(doc(base), doc(new), metrics=keys)
    assert [d.verdict for d in c.diffs] == ["regression"] * len(keys)
    assert all(d.new_ci[0] > d.base_ci[1] for d in c.diffs)


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
    assert compare_main([str(base.path), str(base.path), "--confidence", "100%"]) == 2
    assert "Traceback" not in capsys.readouterr().err


def short_run(out, ttft: str):
    """About 2 s, 4 users, one seed, against a built-in target with fixed timing."""
    builtin = {"timing": {"ttft": ttft, "itl": "10ms", "output_tokens": 16}, "seed": 3}
    profile = chat_profile(users=4, duration="2s", builtin=builtin)
    return run_async(loadgen.run(loadgen.profile_from_dict(profile), out=out))


@pytest.fixture(scope="module")
def twins(tmp_path_factory):
    """Two runs of one profile, seed and target, and one against a target with 4x the TTFT.

    The twins' TTFT is 150 ms, not 20: with ~30 answers each, p99 is nearly the maximum, and
    one answer delayed by a few ms of scheduling on a busy 2-core machine moved a 20 ms p99
    by 14 % (33.7 → 38.3 ms), past the 10 % tolerance; on 150 ms the same delay is ~3 %.
    """
    return tuple(
        short_run(tmp_path_factory.mktemp(name), ttft)
        for name, ttft in (("twin-a", "150ms"), ("twin-b", "150ms"), ("slower", "600ms"))
    )


def test_two_runs_of_one_profile_and_target_show_no_regression(twins, tmp_path, capsys):
    """Same seed, same 150 ms target: exit 0, no warning, and the page names both runs."""
    a, b, _ = twins
    out = tmp_path / "cmp.html"
    assert compare_main([str(a.path), str(b.path), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "no regression beyond tolerance" in printed
    assert "warning:" not in printed
    assert "95% interval above the base's" in printed
    html = out.read_text()
    title = html.split("<title>", 1)[1].split("</title>", 1)[0]
    assert f"({a.path.parent})" in title
    assert f"({b.path.parent})" in title
    assert title.count("test 20") == 2  # profile name and start year of each run
    assert 'class="badge">NO REGRESSION<' in html


def test_a_target_with_ttft_raised_from_150_to_600_ms_is_flagged(twins, tmp_path, capsys):
    """TTFT rows regress, the target warning names the change, and compare exits 1."""
    a, _, slower = twins
    out = tmp_path / "cmp.html"
    assert compare_main([str(a.path), str(slower.path), "-o", str(out)]) == 1
    printed = capsys.readouterr().out.splitlines()
    assert "warning: the targets differ (built-in target.timing.ttft 150ms → 600ms)" in printed
    for metric in ("ttft.p50", "ttft.p95", "ttft.p99"):
        assert any(
            ln.startswith("overall") and metric in ln and ln.endswith("REGRESSION")
            for ln in printed
        ), metric
    html = out.read_text()
    assert "the targets differ (built-in target.timing.ttft 150ms → 600ms)" in html
    assert '<tr class="regression" data-metric="ttft.p99">' in html
