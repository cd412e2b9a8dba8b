"""Real third-party OpenAI-compatible servers on 127.0.0.1, started with their own Python.

``transformers serve`` (serving a tiny random Llama built here, see tiny_model.py) and
LiteLLM's proxy in mock mode live in the virtual environment ``.ci/peers.sh`` builds, named
by ``LOADGEN_PEERS_PYTHON``. Without it these tests skip, except under ``CI=true``, where a
missing environment is a failure. Each server is started once per session in a process group
of its own and always killed, its group with it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from peer_servers import Peer

ROOT = Path(__file__).resolve().parents[2]
START_LIMIT = 120.0  # seconds for a server to answer; they start in ~5 s on an idle machine
# Offline for certain: nothing may come from a model hub or a remote cost map.
OFFLINE = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_TELEMETRY": "False",
    "TOKENIZERS_PARALLELISM": "false",
    "OMP_NUM_THREADS": "1",  # a 2-core machine runs loadgen beside it
}


@pytest.fixture(scope="session")
def peers_python() -> Path:
    value = os.environ.get("LOADGEN_PEERS_PYTHON", "")
    path = Path(value)
    if value and path.is_file() and os.access(path, os.X_OK):
        return path
    why = (
        "the peer servers' environment is missing: run `bash .ci/peers.sh` and export "
        "LOADGEN_PEERS_PYTHON to the path it prints"
        + (f" (LOADGEN_PEERS_PYTHON={value} is not an executable)" if value else "")
    )
    if os.environ.get("CI") == "true":
        pytest.fail(why)
    pytest.skip(why)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _serve(command: list[str], ready: str, log: Path) -> Iterator[str]:
    """Start ``command`` with ``--host 127.0.0.1 --port`` a free port added, wait for
    ``ready`` to answer 200, yield the base URL; kill the process group however the test
    ended."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    command = [*command, "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **OFFLINE},
            cwd=log.parent,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + START_LIMIT
        while True:
            if proc.poll() is not None:
                pytest.fail(f"{Path(command[0]).name} exited with {proc.returncode}:\n{_tail(log)}")
            try:
                if httpx.get(url + ready, timeout=2.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"{Path(command[0]).name} did not answer in {START_LIMIT:.0f} s:\n{_tail(log)}"
                )
            time.sleep(0.2)
        yield url
    finally:
        _kill(proc)


def _kill(proc: subprocess.Popen[bytes]) -> None:
    for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]


@pytest.fixture(scope="session")
def tiny_model(peers_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Llama with a tokenizer trained on this repository's own docs."""
    out = tmp_path_factory.mktemp("tiny-llama")
    texts = [ROOT / "README.md", ROOT / "docs" / "metrics.md"]
    subprocess.run(
        [str(peers_python), str(Path(__file__).with_name("tiny_model.py")), str(out)]
        + [str(t) for t in texts],
        check=True,
        env={**os.environ, **OFFLINE},
        capture_output=True,
        timeout=120,
    )
    return out


@pytest.fixture(scope="session")
def transformers_serve(
    peers_python: Path, tiny_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Peer]:
    """``transformers serve`` pinned to the tiny model; the model's name is its path."""
    log = tmp_path_factory.mktemp("transformers-serve") / "server.log"
    command = [
        str(peers_python.with_name("transformers")),
        "serve",
        str(tiny_model),
        "--device",
        "cpu",
    ]
    for url in _serve(command, "/v1/models", log):
        yield Peer(url=url, model=str(tiny_model), log=log)


LITELLM_CONFIG = """\
model_list:
  - model_name: mock-chat
    litellm_params:
      model: openai/mock-chat
      api_key: sk-mock-not-a-secret
      mock_response: "The quick brown fox jumps over the lazy dog and keeps on running."
litellm_settings:
  telemetry: false
"""


@pytest.fixture(scope="session")
def litellm_proxy(peers_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peer]:
    """LiteLLM's proxy with one model whose answers are a fixed ``mock_response``."""
    home = tmp_path_factory.mktemp("litellm")
    config = home / "config.yaml"
    config.write_text(LITELLM_CONFIG)
    command = [str(peers_python.with_name("litellm")), "--config", str(config)]
    for url in _serve(command, "/health/liveliness", home / "server.log"):
        yield Peer(url=url, model="mock-chat", log=home / "server.log")
