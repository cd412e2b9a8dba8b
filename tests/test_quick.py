"""The quick path (issue 17, item 1): `loadgen run --url … --users N --duration D`, no profile."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
from loopserver import LoopServer

from loadgen.cli.commands import main
from loadgen.cli.quick import QuickOptions, choose_model, profile_text
from loadgen.core.profile import load_profile
from loadgen.target import BuiltinTarget, TargetConfig

KEY = "sk-quick-test-0123456789"
FAST = {"timing": {"ttft": "20ms", "itl": "2ms", "output_tokens": 6}, "capacity": {"slots": 0}}


@pytest.fixture(scope="module")
def server() -> Iterator[BuiltinTarget]:
    """A standalone OpenAI-compatible server on its own port (not `builtin`) that lists one
    model, `tiny-chat`, and requires a bearer key on chat completions."""
    config = TargetConfig.from_mapping(
        {
            **FAST,
            "chat": {"model": "tiny-chat"},
            "auth": {"api_keys": [KEY], "require_auth_openai": True},
        }
    )
    with BuiltinTarget(config) as target:
        yield target


def test_a_quick_run_against_the_builtin_target(tmp_path, capsys):
    """--url builtin: the same result and reports as a profile, the profile saved beside them."""
    out = tmp_path / "out"
    code = main(["run", "--url", "builtin", "--users", "2", "--duration", "2s", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    saved = json.loads((out / "result.json").read_text())
    assert saved["profile"]["name"] == "quick"
    assert saved["scopes"]["overall"]["requests"] > 0
    assert saved["scopes"]["overall"]["errors"] == 0
    assert saved["plan"][-1]["end"] == 2
    assert (out / "report.html").exists()
    assert load_profile(out / "profile.yaml").name == "quick"


def test_a_quick_run_asks_the_server_for_its_model_and_sends_the_key(
    server, tmp_path, capsys, monkeypatch
):
    """Against a real server with no --model: /v1/models names the only model, the key from
    --api-key-env is sent (the server refuses chats without it) and written nowhere."""
    monkeypatch.setenv("QUICK_TEST_API_KEY", KEY)
    out = tmp_path / "out"
    argv = ["run", "--url", server.url, "--api-key-env", "QUICK_TEST_API_KEY"]
    code = main(
        [*argv, "--rate", "10/s", "--duration", "2s", "--max-tokens", "8", "--out", str(out)]
    )
    err = capsys.readouterr().err
    assert code == 0, err
    assert "using the server's only model, 'tiny-chat'" in err
    saved = json.loads((out / "result.json").read_text())
    assert saved["load"]["model"] == "open"
    assert saved["scopes"]["overall"]["errors"] == 0
    assert saved["scopes"]["overall"]["requests"] >= 10
    for name in ("profile.yaml", "result.json", "report.html"):
        assert KEY not in (out / name).read_text(), name
    assert "${QUICK_TEST_API_KEY}" in (out / "profile.yaml").read_text()


def test_without_the_key_the_same_quick_run_fails(server, tmp_path, capsys):
    """The control: without the key every chat is refused, and the run says FAILED (exit 1)."""
    out = tmp_path / "out"
    argv = ["run", "--url", server.url, "--model", "tiny-chat", "--users", "1"]
    assert main([*argv, "--duration", "1s", "--out", str(out)]) == 1
    saved = json.loads((out / "result.json").read_text())
    assert saved["scopes"]["overall"]["errors_by_kind"].get("auth", 0) > 0
    capsys.readouterr()


def test_print_profile_prints_a_profile_that_validates(tmp_path, capsys):
    """--print-profile: YAML a user can save, validate and run."""
    argv = ["run", "--url", "http://127.0.0.1:9", "--model", "m", "--users", "4"]
    assert main([*argv, "--duration", "1m", "--header", "x-tenant=acme", "--print-profile"]) == 0
    text = capsys.readouterr().out
    path = tmp_path / "saved.yaml"
    path.write_text(text)
    profile = load_profile(path)
    assert profile.target.base_url == "http://127.0.0.1:9"
    assert profile.target.headers == {"x-tenant": "acme"}
    assert profile.users[0].tasks[0].chat is not None
    assert profile.users[0].tasks[0].chat.model == "m"


class _TwoModels(LoopServer):
    """A loopback server whose /v1/models lists two models (one thread, its own loop)."""

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        body = json.dumps({"object": "list", "data": [{"id": "a"}, {"id": "b"}]}).encode()
        head = f"HTTP/1.1 200 OK\r\ncontent-length: {len(body)}\r\nconnection: close\r\n\r\n"
        writer.write(head.encode() + body)
        await writer.drain()
        writer.close()


def test_several_models_need_model_and_the_run_does_not_start(tmp_path, capsys):
    """A server listing two models: exit 2 naming both and --model; nothing runs."""
    with _TwoModels() as two:
        code = main(["run", "--url", two.url, "--users", "1", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2
    assert "lists 2 models (a, b)" in err
    assert "--model" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("listed", "model", "said"),
    [
        pytest.param(["m"], "m", "only model", id="one model is taken"),
        pytest.param([], None, "lists no model", id="none: ask for --model"),
        pytest.param(["a", "b"], None, "pick one with --model", id="several: ask which"),
    ],
)
def test_choose_model(listed, model, said):
    """The rule that picks a model from /v1/models."""
    chosen, text = choose_model(listed, "http://x")
    assert chosen == model
    assert said in text


def test_no_profile_and_no_url_is_a_usage_error(capsys):
    """`loadgen run` alone says what to give, exit 2."""
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert "no profile given" in err
    assert "--url" in err


def test_a_rate_makes_an_open_model_profile():
    """--rate R writes an open-model load; --users a closed one."""
    assert "model: open" in profile_text(QuickOptions(url="builtin", rate="5/s"))
    assert "users: 7" in profile_text(QuickOptions(url="builtin", users=7))


@pytest.mark.parametrize("flag", ["--output-tokens", "--max-tokens"])
def test_an_output_length_on_quick_embeddings_names_the_flag(flag, capsys, tmp_path):
    """The error names the flag the user typed, not a line of the generated profile."""
    args = ["run", "--url", "builtin", "--api", "embeddings", flag, "8", "--duration", "1s"]
    assert main([*args, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"error: {flag}: an embedding has no output — drop {flag}" in err
    assert not (tmp_path / "out").exists()
