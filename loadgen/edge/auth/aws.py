"""The bridge from a profile's ``auth: {kind: cognito | sigv4}`` to loadgen.edge.aws's factories."""

from __future__ import annotations

from typing import Any

from loadgen.core.errors import StartError
from loadgen.edge.auth.base import AuthFactory

__all__ = ["aws_factory"]


def aws_factory(kind: str, section: dict[str, Any]) -> AuthFactory:
    problems: list[str] = []

    def problem(path: tuple[str | int, ...], what: str, fix: str = "") -> None:
        problems.append(what)

    try:
        from loadgen.core.aws import config

        if kind == "cognito":
            from loadgen.edge.aws.cognito import CognitoAuthFactory

            cognito = config.parse_cognito(section, problem)
            if cognito is not None and not problems:
                return CognitoAuthFactory(cognito)
        else:
            from loadgen.edge.aws.sigv4 import SigV4AuthFactory

            sigv4 = config.parse_sigv4(section, problem)
            if sigv4 is not None and not problems:
                return SigV4AuthFactory(sigv4)
    except ImportError as exc:
        raise StartError(
            f"auth.kind {kind} needs the AWS extra ({exc.name} is missing)",
            "pip install 'loadgen[aws]'",
        ) from None
    raise StartError(
        f"auth ({kind}): {'; '.join(problems) or 'invalid section'}",
        "run `loadgen validate` for the line",
    )
