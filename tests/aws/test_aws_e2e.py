"""A whole profile run whose VUs log in through Cognito (moto) and call the built-in target."""

from __future__ import annotations

from aws_helpers import PASSWORD, REGION, make_pool, run

import loadgen
from loadgen.target import BuiltinTarget, TargetConfig


def test_vus_log_in_through_cognito_and_refresh_during_the_run(moto: str) -> None:
    """4 VUs, 2 Cognito users: each VU logs in, tokens refresh mid-run, the target accepts all."""
    pool, client, _ = run(make_pool(moto, users=2))
    target_config = TargetConfig.from_mapping(
        {
            "timing": {"ttft": "5ms", "itl": "1ms", "output_tokens": 3},
            "auth": {
                "jwks_url": f"{moto}/{pool}/.well-known/jwks.json",
                "issuer": f"https://cognito-idp.{REGION}.amazonaws.com/{pool}",
                "audience": [client],
            },
        }
    )

    async def go() -> loadgen.Result:
        async with BuiltinTarget(target_config) as target:
            profile = loadgen.profile_from_dict(
                {
                    "name": "cognito",
                    "target": {"base_url": target.url, "timeout": "10s"},
                    "auth": {
                        "kind": "cognito",
                        "region": REGION,
                        "user_pool_id": pool,
                        "client_id": client,
                        "endpoint_url": moto,
                        "users": {"username": "lt-{n}", "password": PASSWORD, "count": 2},
                        # moto's tokens always live 3600 s: due for refresh after 1 s
                        "refresh_before": "3599s",
                    },
                    "users": [
                        {
                            "name": "regular",
                            "think_time": "200ms",
                            "tasks": [{"name": "me", "http": {"path": "/api/auth/me"}}],
                        }
                    ],
                    "load": {"users": 4, "duration": "3s", "graceful_stop": "5s"},
                }
            )
            return await loadgen.run(profile)

    result = run(go(), timeout=60)
    names = result.data["scopes"]["by_name"]
    assert names["auth.cognito.login"]["requests"] == 4
    assert names["auth.cognito.refresh"]["requests"] >= 1
    assert names["me"]["requests"] > 10
    assert names["me"]["errors"] == 0
    assert result.errors == {}
    assert PASSWORD not in str(result.data)  # secrets never reach the result
