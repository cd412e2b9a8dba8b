"""moto's standalone server on 127.0.0.1, started once per session and reset between tests.

moto's in-process ``mock_aws()`` does not patch aiobotocore's HTTP client, so the tests talk
to a real loopback server. Fake credentials are forced into the environment and every other
source of credentials (shared files, instance metadata) is switched off, so no call can
reach AWS even if a client forgot its ``endpoint_url``.
"""

from __future__ import annotations

import logging
import os
import urllib.request
from collections.abc import Iterator

import pytest

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "AKIDTESTFAKE",
        "AWS_SECRET_ACCESS_KEY": "fake-secret-for-tests",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
        "AWS_CONFIG_FILE": "/nonexistent/aws-config",
    }
)
for _name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"):
    os.environ.pop(_name, None)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def moto(moto_server: str) -> str:
    """The server's URL, with every resource of earlier tests forgotten."""
    request = urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    return moto_server
