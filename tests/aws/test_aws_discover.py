"""``loadgen aws discover`` against resources created in moto, and its one-line failures."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from aws_helpers import REGION, make_pool, run
from botocore.exceptions import ClientError

from loadgen.cli.aws import aws_main
from loadgen.edge.aws.clients import AwsClients
from loadgen.edge.aws.discover import DiscoverError, _call, write_env


async def make_apis(url: str) -> dict[str, str]:
    clients = AwsClients(region=REGION, endpoint_url=url)
    try:
        rest = await clients.get("apigateway")
        api = await rest.create_rest_api(name="chat-rest")
        root = (await rest.get_resources(restApiId=api["id"]))["items"][0]["id"]
        await rest.put_method(
            restApiId=api["id"], resourceId=root, httpMethod="GET", authorizationType="NONE"
        )
        await rest.put_integration(
            restApiId=api["id"], resourceId=root, httpMethod="GET", type="MOCK"
        )
        await rest.create_deployment(restApiId=api["id"], stageName="prod")
        v2 = await clients.get("apigatewayv2")
        http = await v2.create_api(Name="chat-http", ProtocolType="HTTP")
        ws = await v2.create_api(
            Name="chat-ws", ProtocolType="WEBSOCKET", RouteSelectionExpression="$request.body.a"
        )
        await v2.create_stage(ApiId=http["ApiId"], StageName="$default")
        await v2.create_stage(ApiId=ws["ApiId"], StageName="live")
        iam = await clients.get("iam")
        role = await iam.create_role(RoleName="fn", AssumeRolePolicyDocument="{}")
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as zf:
            zf.writestr("f.py", "def h(e, c):\n    return 1\n")
        lam = await clients.get("lambda")
        for name in ("chat-fn", "no-url-fn"):
            await lam.create_function(
                FunctionName=name,
                Runtime="python3.11",
                Role=role["Role"]["Arn"],
                Handler="f.h",
                Code={"ZipFile": code.getvalue()},
            )
        fn_url = await lam.create_function_url_config(FunctionName="chat-fn", AuthType="AWS_IAM")
        return {
            "rest": api["id"],
            "http": http["ApiId"],
            "ws": ws["ApiId"],
            "fn_url": fn_url["FunctionUrl"],
        }
    finally:
        await clients.aclose()


def test_discover_lists_apis_pools_and_function_urls_and_writes_env(
    moto: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """REST/HTTP/WebSocket stages with invoke URLs, pools with clients, function URLs; .env."""
    ids = run(make_apis(moto))
    pool, client, _ = run(make_pool(moto, users=0))
    env = tmp_path / ".env"
    env.write_text("# mine\nKEEP=1\nCHATBOT_URL=old\n")
    code = aws_main(["discover", "--endpoint-url", moto, "--write-env", str(env)])
    out = capsys.readouterr().out
    assert code == 0
    rest_url = f"https://{ids['rest']}.execute-api.{REGION}.amazonaws.com/prod"
    assert rest_url in out
    assert f"https://{ids['http']}.execute-api.{REGION}.amazonaws.com\n" in out
    assert f"wss://{ids['ws']}.execute-api.{REGION}.amazonaws.com/live" in out
    assert f"chat-users ({pool})" in out
    assert f"app client web ({client})" in out
    assert f"chat-fn: {ids['fn_url']} (auth AWS_IAM)" in out
    assert "no-url-fn" not in out
    lines = env.read_text().splitlines()
    assert lines[:3] == ["# mine", "KEEP=1", f"CHATBOT_URL={rest_url}"]
    assert f"COGNITO_USER_POOL_ID={pool}" in lines
    assert f"COGNITO_CLIENT_ID={client}" in lines
    assert f"CHATBOT_WS_URL=wss://{ids['ws']}.execute-api.{REGION}.amazonaws.com/live" in lines


def test_missing_permission_names_the_iam_action() -> None:
    """AccessDenied on a list call becomes one line naming the action to grant."""

    async def denied(**kwargs: object) -> None:
        error = {"Error": {"Code": "AccessDeniedException", "Message": "no"}}
        raise ClientError(error, "ListUserPools")  # type: ignore[arg-type]

    with pytest.raises(DiscoverError, match=r"^missing IAM permission cognito-idp:ListUserPools"):
        run(_call("cognito-idp:ListUserPools", denied, MaxResults=60))


def test_missing_credentials_exit_2_with_one_line(
    moto: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No credentials in the chain: exit 2 and a single line saying how to provide them."""
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    code = aws_main(["discover", "--region", REGION, "--endpoint-url", moto])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert err.startswith("loadgen aws discover: no AWS credentials")


def test_bad_command_line_exits_2() -> None:
    """argparse errors are exit 2 (SPEC §3)."""
    assert aws_main(["discover", "--nope"]) == 2
    assert aws_main([]) == 2


def test_write_env_creates_a_file(tmp_path: Path) -> None:
    """A new .env gets one KEY=value line per value."""
    path = tmp_path / "new.env"
    write_env(path, {"AWS_REGION": "eu-west-1", "CHATBOT_URL": "https://x"})
    assert path.read_text() == "AWS_REGION=eu-west-1\nCHATBOT_URL=https://x\n"


def test_no_network_is_exit_2_with_the_endpoint_and_cause(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Credentials set but nothing listening at the endpoint (a closed loopback port): one
    line naming the endpoint and the cause, exit 2, no EndpointConnectionError traceback."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
        code = aws_main(["discover", "--region", REGION, "--endpoint-url", url])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert err.startswith(f"loadgen aws discover: cannot reach {url} calling apigateway:GET: ")
    assert "connection refused — check the network" in err
    assert "Traceback" not in err
