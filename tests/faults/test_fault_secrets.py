"""Secrets never reach an output: a run that used a bearer token, API keys, a password and an
AWS secret, with every report format and the per-request CSV, is grepped for each value.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SECRETS = {
    "SERVICE_TOKEN": "tok-SECRET-1111",
    "API_KEY": "key-SECRET-2222",
    "USER_PASSWORD": "pw-SECRET-3333",
    "AWS_SECRET_ACCESS_KEY": "aws-SECRET-4444",
    "COGNITO_CLIENT_SECRET": "cog-SECRET-6666",
}
LITERAL = "sk-literal-SECRET-5555"  # written in the profile itself, not through a variable

PROFILE = """
name: secrets
target:
  base_url: {url}
  timeout: 5s
  headers:
    x-api-key: "${{API_KEY}}"
    x-amz-security: "${{AWS_SECRET_ACCESS_KEY}}"
auth: {{kind: bearer, token: "${{SERVICE_TOKEN}}"}}
users:
  - name: chat
    vars: {{client_secret: "${{COGNITO_CLIENT_SECRET}}"}}
    tasks:
      - chat: {{headers: {{x-loadgen-fault: none}}}}
  - name: login
    tasks:
      - name: login
        http:
          method: POST
          path: /api/auth/login
          json: {{email: "nobody@example.com", password: "${{USER_PASSWORD}}"}}
  - name: literal
    tasks:
      - name: chat.literal
        chat: {{headers: {{x-loadgen-fault: "none", {literal_key}: "{literal}"}}}}
load: {{users: 3, duration: 2s, graceful_stop: 1s}}
report: {{formats: [json, html, csv, junit, hlog], raw: true}}
"""


def run_and_collect(builtin, tmp_path: Path, literal_key: str) -> str:
    """Run through the CLI, re-render with ``loadgen report``; return every byte written."""
    profile = tmp_path / "p.yaml"
    profile.write_text(PROFILE.format(url=builtin.url, literal=LITERAL, literal_key=literal_key))
    out = tmp_path / "out"
    env = {**os.environ, **SECRETS}
    outputs = []
    for argv in (
        [str(profile), "--out", str(out)],
        [str(profile), "--out", str(out), "--json"],
        ["report", str(out), "--format", "html,csv,junit,hlog,json"],
        ["validate", str(profile)],
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "loadgen", *argv], env=env, capture_output=True, timeout=60
        )
        assert proc.returncode == 0, proc.stderr.decode()
        outputs += [proc.stdout, proc.stderr]
    files = [p for p in out.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {
        "result.json",
        "result.jsonl",
        "report.html",
        "requests.csv",
        "junit.xml",
        "latency.hlog",
    }
    text = b"\n".join([*outputs, *(p.read_bytes() for p in files)])
    assert b"auth" in text  # the failed logins were counted and reported
    return text.decode("utf-8", "replace")


def test_no_secret_from_a_variable_reaches_any_output(builtin, tmp_path):
    """Values of variables named *TOKEN*, *KEY*, *PASSWORD*, *SECRET* appear nowhere: result
    JSON (the stored profile), journal, reports, CSV, console, JSON summary, validate."""
    text = run_and_collect(builtin, tmp_path, literal_key="authorization")
    leaked = [name for name, value in SECRETS.items() if value in text]
    assert leaked == []
    assert LITERAL not in text  # a literal under a key named like a secret: redacted too


def test_a_literal_key_under_an_x_api_key_header_is_redacted(builtin, tmp_path):
    """A key written literally (no variable) under ``x-api-key`` must be redacted too."""
    text = run_and_collect(builtin, tmp_path, literal_key="x-api-key")
    assert LITERAL not in text
