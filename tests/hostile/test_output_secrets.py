"""Issue #18 class 1, the secret matrix: every source of a secret, echoed back by a hostile
server in its error bodies, is grepped for (whole, and its first 8 characters, for leaks at a
cut) in every output format and in what ``loadgen run`` and ``loadgen check`` print.

One profile holds every source, one user class each (a task named after the source), so the
matrix costs one run and one check; each source is then its own test case.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from base64 import b64encode
from typing import Any

import pytest
from output_echo import LOGIN_TOKEN, EchoServer

# Each value starts with 8 characters found nowhere else, so a prefix in an output is a leak.
SECRETS = {
    "vars_literal": "PWLITa1b-password-in-vars",
    "vars_template": "PWTPLc2d-password-rendered",  # the var renders it + "-{{ vu }}"
    "vars_marked": "PINVRe3f-marked-secret-true",
    "rows_named": "PWROWg4h-password-column",
    "rows_marked": "PINRWi5j-marked-column",
    "api_key_header": "HDKEYk6l-literal-x-api-key",
    "login_token": LOGIN_TOKEN,
    "aws_session_token": "AWSSTm7n-session-token-from-the-chain",
    "query_literal": "QRYKYo8p-key-in-a-query",
    "query_auth": "QRYAUq9r-api-key-auth-in-query",
    "userinfo": "USRPWs0t-password-in-base-url",
    "env_bearer": "ENVBRu1v-bearer-from-env",
    "cut_at_limit": "CUTKYw2x-header-cut-by-the-limit",
}
ENV = {
    "SERVICE_TOKEN": SECRETS["env_bearer"],
    "AWS_ACCESS_KEY_ID": "AKIAHOSTILEOUTPUT1",
    "AWS_SECRET_ACCESS_KEY": "AWSSKy3z-secret-access-key",
    "AWS_SESSION_TOKEN": SECRETS["aws_session_token"],
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": "/nonexistent",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
    "AWS_EC2_METADATA_DISABLED": "true",
    "CUT_KEY": SECRETS["cut_at_limit"],
}


def _echo(name: str, **http: Any) -> dict[str, Any]:
    return {"name": name, "tasks": [{"name": name, "http": {"path": "/echo", **http}}]}


def _profile(url: str) -> dict[str, Any]:
    host = url.removeprefix("http://")
    body = {"json": {"who": "{{ email }}"}, "method": "POST"}
    users = [
        {"name": "healthy", "tasks": [{"name": "healthy", "chat": {"path": "/ok/v1/chat"}}]},
        {
            **_echo("vars_literal", method="POST", json={"password": "{{ password }}"}),
            "vars": {"password": SECRETS["vars_literal"]},
        },
        {
            **_echo("vars_template", method="POST", json={"password": "{{ password }}"}),
            "vars": {"password": SECRETS["vars_template"] + "-{{ vu }}"},
        },
        {
            **_echo("vars_marked", method="POST", json={"code": "{{ code }}"}),
            "vars": {"code": {"value": SECRETS["vars_marked"], "secret": True}},
        },
        _echo("rows_named", method="POST", json={"password": "{{ password }}"}),
        _echo("rows_marked", method="POST", json={"pin": "{{ pin }}"}),
        _echo("api_key_header"),
        {
            **_echo("login_token", **body),
            "auth": {"kind": "login", "login": {"path": "/login", "json": {"email": "a@b.c"}}},
        },
        {**_echo("aws_session_token"), "auth": {"kind": "sigv4", "region": "us-east-1"}},
        _echo("query_literal", path=f"/echo?api_key={SECRETS['query_literal']}&x=1"),
        {
            **_echo("query_auth"),
            "auth": {"kind": "api_key", "query": "key", "token": SECRETS["query_auth"]},
        },
        _echo("userinfo"),
        {**_echo("env_bearer"), "auth": {"kind": "bearer", "token": "${SERVICE_TOKEN}"}},
        {
            **_echo("cut_at_limit", path="/cut?pad=285&h=x-cut-key"),
            "auth": {"kind": "api_key", "header": "x-cut-key", "token": "${CUT_KEY}"},
        },
    ]
    for cls in users:
        cls["think_time"] = {"constant": "100ms"}
    return {
        "name": "secret-matrix",
        "target": {
            "base_url": f"http://loadgen:{SECRETS['userinfo']}@{host}",
            "timeout": "5s",
            "headers": {"x-api-key": SECRETS["api_key_header"]},
        },
        "data": {"rows": "rows.csv", "secret": ["pin"]},
        "users": users,
        "load": {"users": len(users), "duration": "2s", "graceful_stop": "1s"},
        "seed": 7,
        "report": {"formats": ["json", "html", "csv", "junit", "hlog"], "raw": True},
    }


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Run the matrix profile and check it once; every byte written or printed, and the result."""
    tmp = tmp_path_factory.mktemp("secrets")
    with EchoServer() as server:
        profile = tmp / "matrix.yaml"
        profile.write_text(json.dumps(_profile(server.url)))
        (tmp / "rows.csv").write_text(
            f"email,password,pin\nu1@x.io,{SECRETS['rows_named']},{SECRETS['rows_marked']}\n"
        )
        out = tmp / "out"
        env = {**os.environ, **ENV}
        printed = []
        began = time.monotonic()
        for argv in ([str(profile), "--out", str(out)], ["check", str(profile)]):
            proc = subprocess.run(
                [sys.executable, "-m", "loadgen", *argv],
                env=env,
                capture_output=True,
                timeout=90,
                check=False,
            )
            printed += [proc.stdout, proc.stderr]
            assert b"Traceback" not in proc.stderr, proc.stderr.decode()
        took = time.monotonic() - began
    files = {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    result = json.loads(files["result.json"])
    text = b"\n".join([*printed, *files.values()]).decode("utf-8", "replace")
    return {"files": files, "result": result, "text": text, "took": took, "printed": printed}


def test_every_output_format_was_written(matrix: dict[str, Any]) -> None:
    """The grep covers every format: JSON, journal, HTML, each CSV, JUnit, hlog, raw rows."""
    assert set(matrix["files"]) >= {
        "result.json",
        "result.jsonl",
        "report.html",
        "stats.csv",
        "history.csv",
        "failures.csv",
        "custom.csv",
        "requests.csv",
        "junit.xml",
        "latency.hlog",
    }
    assert matrix["took"] < 60  # one 2-second run and one check, even on a loaded machine


@pytest.mark.parametrize("source", sorted(SECRETS))
def test_an_echoed_secret_appears_in_no_output(matrix: dict[str, Any], source: str) -> None:
    """The server echoed this source's secret back (counted as http_5xx on its task), and
    neither the value nor its first 8 characters appear in any file or printed line."""
    result = matrix["result"]
    echoed = [e for e in result["errors"] if e["name"] == source]
    assert echoed, f"{source}: the hostile server was never reached"
    assert {e["kind"] for e in echoed} == {"http_5xx"}
    assert "***" in echoed[0]["example"]  # something was masked in what it echoed
    secret = SECRETS[source]
    assert secret not in matrix["text"]
    assert secret[:8] not in matrix["text"], f"{source}: a prefix leaked"


def test_userinfo_sent_as_basic_auth_is_masked_too(matrix: dict[str, Any]) -> None:
    """The client turns the base URL's userinfo into ``Authorization: Basic base64(...)``;
    echoed, that encoding is the password in plain sight, so it is masked as well."""
    basic = b64encode(f"loadgen:{SECRETS['userinfo']}".encode()).decode()
    assert "Basic ***" in matrix["text"]
    assert basic[:12] not in matrix["text"]


def test_the_healthy_class_kept_answering(matrix: dict[str, Any]) -> None:
    """The user class on the healthy route is untouched by its neighbours' hostile echoes."""
    healthy = matrix["result"]["scopes"]["by_name"]["healthy"]
    assert healthy["requests"] >= 1
    assert healthy["errors"] == 0
    assert healthy["metrics"]["ttft"]["p99"] < 2000  # ms: loopback, 4 tokens, loaded machine


def test_check_prints_the_failures_with_secrets_masked(matrix: dict[str, Any]) -> None:
    """``loadgen check`` lists the echoing tasks as failed (so its output was tested for real)."""
    check_out = matrix["printed"][2].decode()
    assert "http_5xx" in check_out
    assert "***" in check_out
