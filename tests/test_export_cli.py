"""The export's command line: ``--out prometheus=URL`` beside ``--out DIR``, the ports of a
``--processes`` run's parts, clear errors for bad input, and a receiver that is down costing
a warning, never the run."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import yaml
from support import chat_profile

from loadgen.cli.commands import main
from loadgen.cli.export import export_options, worker_args
from loadgen.cli.parser import parser


def parse(*argv: str):
    return parser().parse_args(["run", "p.yaml", *argv])


def test_out_takes_a_directory_and_receivers_in_any_order():
    args = parse("--out", "prometheus=http://a:9090/api/v1/write", "--out", "res", "--out",
                 "prometheus=https://b/api/v1/write")  # fmt: skip
    assert args.out == "res"
    assert args.remote_write == ["http://a:9090/api/v1/write", "https://b/api/v1/write"]
    assert parse("--out", "dir=with=equals").out == "dir=with=equals"  # not an output kind
    assert parse().remote_write == []


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--out", "prometheus=127.0.0.1:9090"], "prometheus=http://HOST:PORT/api/v1/write"),
        (["--out", "a", "--out", "b"], "the result directory was already given"),
        (["--metrics-port", "0"], "write a TCP port, 1 to 65535"),
        (["--metrics-port", "70000"], "write a TCP port, 1 to 65535"),
    ],
    ids=["a receiver without a scheme", "two result directories", "port 0", "port too big"],
)
def test_bad_export_options_are_usage_errors_with_the_fix(argv, said, capsys):
    with pytest.raises(SystemExit) as exc:
        parse(*argv)
    assert exc.value.code == 2
    assert said in capsys.readouterr().err


def test_part_i_of_a_processes_run_serves_on_port_plus_i_minus_1():
    """Workers are told the run's port, receivers and id; each adds its own index."""
    args = parse("--metrics-port", "9464", "--out", "prometheus=http://r/w")
    told = worker_args(args, Path("reports/load-1"))
    assert told == ["--out", "prometheus=http://r/w", "--metrics-port", "9464",
                    "--metrics-host", "127.0.0.1", "--run-id", "load-1"]  # fmt: skip
    worker = parse(*told, "--segment", "3/4")
    options = export_options(worker, Path("reports/load-1/part-3"))
    assert (options.metrics_port, options.run_id) == (9466, "load-1")
    assert options.remote_write == ("http://r/w",)
    assert worker_args(parse(), Path("x")) == []  # nothing exported: nothing told


def _profile(tmp_path: Path) -> Path:
    data = chat_profile(users=2, duration="1s", builtin={"timing": {"ttft": "5ms", "itl": "1ms"}})
    data["report"] = {"formats": ["json"]}
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_a_taken_metrics_port_stops_the_run_before_it_starts(tmp_path, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main(["run", str(_profile(tmp_path)), "--out", str(tmp_path / "r"),
                     "--metrics-port", str(port), "--quiet"])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert f"--metrics-port {port}: cannot listen on 127.0.0.1:{port}" in err
    assert "choose a free port" in err
    assert not (tmp_path / "r" / "result.json").exists()


def test_a_receiver_that_is_down_is_a_warning_and_the_run_stands(tmp_path, capsys):
    """Every push refused (nothing listens there): exit 0, the result written, one line
    saying how many pushes failed and why."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]  # free once closed: connections are refused
    url = f"http://127.0.0.1:{closed}/api/v1/write"
    code = main(["run", str(_profile(tmp_path)), "--out", str(tmp_path / "r"),
                 "--out", f"prometheus={url}", "--quiet"])  # fmt: skip
    assert code == 0
    assert (tmp_path / "r" / "result.json").exists()
    err = capsys.readouterr().err
    assert f"warning: prometheus remote write to {url}:" in err
    assert "pushes failed (first: ConnectError" in err
