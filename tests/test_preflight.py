"""`loadgen check`: one request per task, with the likely fix for each failure."""

from __future__ import annotations

import json

from loadgen.cli.commands import main

LOGIN = {
    "kind": "login",
    "login": {
        "path": "/api/auth/login",
        "json": {"email": "{{ email }}", "password": "{{ password }}"},
    },
}


def write(tmp_path, data):
    path = tmp_path / "p.yaml"
    path.write_text(json.dumps(data))
    return str(path)


def base(**top):
    return {
        "name": "pre",
        "target": {
            "base_url": "builtin",
            "timeout": "5s",
            "builtin": {"timing": {"ttft": "10ms", "itl": "1ms"}},
        },
        "load": {"users": 1, "duration": "1s"},
        **top,
    }


def test_a_healthy_setup_passes_with_one_row_per_task(tmp_path, capsys):
    """Every task ran once, each row shows status, ttft and the first words of the answer."""
    data = base(
        users=[
            {
                "name": "regular",
                "tasks": [
                    {"chat": {"category": "simple"}},
                    {"name": "health", "http": {"path": "/health"}},
                ],
            }
        ]
    )
    assert main(["check", write(tmp_path, data)]) == 0
    out = capsys.readouterr().out
    assert "chat.simple" in out
    assert "health" in out
    assert "2 of 2 requests ok" in out


def test_a_wrong_path_and_a_wrong_password_are_reported_distinctly(tmp_path, capsys):
    """404 → 'wrong path'; 401 at login → 'refused the credentials'; exit 2."""
    data = base(
        auth=LOGIN,
        users=[
            {
                "name": "regular",
                "vars": {"email": "admin@example.com", "password": "not-it"},
                "tasks": [{"name": "typo", "http": {"path": "/api/chatt"}}],
            }
        ],
    )
    assert main(["check", write(tmp_path, data)]) == 2
    out = capsys.readouterr().out
    assert "fix typo: wrong path" in out
    assert "fix auth.login: the server refused the credentials" in out


def test_an_unreachable_target_says_where_it_looked(tmp_path, capsys):
    """Nothing listening: exit 2 naming the address."""
    data = base(users=[{"tasks": [{"chat": {}}]}])
    data["target"] = {"base_url": "http://127.0.0.1:9"}
    assert main(["check", write(tmp_path, data)]) == 2
    assert "cannot reach http://127.0.0.1:9" in capsys.readouterr().err


def test_check_skips_think_times_even_between_conversation_turns(tmp_path, capsys):
    """A 20 s think time (paid between the turns of a conversation, as in endurance.yaml) is
    not waited: a check of a 4-turn conversation takes seconds, not a minute."""
    import time

    data = base(
        users=[
            {
                "name": "power",
                "think_time": {"constant": "20s"},
                "tasks": [{"chat": {"conversation": True}}, {"chat": {"category": "simple"}}],
            }
        ]
    )
    started = time.monotonic()
    assert main(["check", write(tmp_path, data)]) == 0
    assert time.monotonic() - started < 15  # one think would be 20 s
    out = capsys.readouterr().out
    assert out.count("chat.multi_turn") >= 3  # the turns of one conversation


def test_check_fits_in_100_columns_and_says_each_fix_once(tmp_path, capsys):
    """Three wrong paths with long names and long answers: every line ≤ 100 columns, and the
    shared fix is said once after the three names."""
    from loadgen.report.console import columns

    tasks = [
        {"name": f"a-rather-long-request-name-{i}", "http": {"path": f"/api/nope-{i}" * 8}}
        for i in range(3)
    ]
    assert main(["check", write(tmp_path, base(users=[{"tasks": tasks}]))]) == 2
    out = capsys.readouterr().out
    assert all(columns(line) <= 100 for line in out.splitlines()), out
    fixes = [line for line in out.splitlines() if line.startswith("fix ")]
    assert len(fixes) == 1, out
    assert fixes[0].startswith("fix a-rather-long-request-name-0, a-rather-long-request-name-1, ")
    assert "wrong path" in " ".join(out.split())


def test_a_multi_line_error_body_stays_on_its_row(tmp_path, capsys):
    """A server answering 500 with a body of several lines (a stack trace, an HTML page): the
    check table keeps one line per request, the body's lines joined by spaces."""
    import socketserver
    import threading

    body = b"Internal error\n  at handler (app.js:12)\r\n\tat main (app.js:3)\n"

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            self.wfile.write(
                b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\n"
                b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
            )

    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler) as server:
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        data = base(users=[{"name": "u", "tasks": [{"name": "api", "http": {"path": "/x"}}]}])
        data["target"] = {"base_url": f"http://127.0.0.1:{server.server_address[1]}"}
        try:
            code = main(["check", write(tmp_path, data)])
        finally:
            server.shutdown()
    out = capsys.readouterr().out
    assert code == 2
    rows = [line for line in out.splitlines() if line.startswith("u ")]
    assert len(rows) == 1, out
    assert "HTTP 500: Internal error at handler" in rows[0]  # joined (and cut to fit 100)
    assert not any(line.lstrip().startswith("at ") for line in out.splitlines())


def test_classes_are_checked_at_once_and_listed_in_profile_order(tmp_path, capsys):
    """Each class is its own user: their requests overlap at the server (truth log), so a
    check takes its longest class's time, and the rows still follow the profile's order."""
    from loadgen.target import BuiltinTarget, TargetConfig

    slow = {"timing": {"ttft": "400ms", "itl": "1ms", "output_tokens": 3}}
    truth = tmp_path / "truth.jsonl"
    with BuiltinTarget(TargetConfig.from_mapping(slow), truth=truth) as target:
        data = base(
            users=[
                {"name": "first", "tasks": [{"chat": {"category": "simple"}}]},
                {"name": "second", "tasks": [{"chat": {"category": "complex"}}]},
            ]
        )
        data["target"] = {"base_url": target.url, "timeout": "5s"}
        assert main(["check", write(tmp_path, data)]) == 0
    served = sorted(map(json.loads, truth.read_text().splitlines()), key=lambda d: d["arrival"])
    chats = [d for d in served if d.get("first_token")]
    assert len(chats) == 2
    assert chats[1]["arrival"] < chats[0]["first_token"]  # sent before the first answered
    out = capsys.readouterr().out
    rows = [line.split()[0] for line in out.splitlines() if line.startswith(("first", "second"))]
    assert rows == ["first", "second"]
    assert "2 of 2 requests ok" in out
