"""botocore's exceptions mapped once to an ``ErrorKind`` and a message without secrets.

Messages carry the AWS error code and HTTP status, never the service's free text (Cognito's
texts can echo a username) nor any request parameter, so they are safe in samples and logs.
"""

from __future__ import annotations

import asyncio

from loadgen.core.errors import ErrorKind

__all__ = ["THROTTLE_CODES", "aws_error_code", "classify_aws", "status_of"]

THROTTLE_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "LimitExceededException",
        "ServiceQuotaExceededException",
    }
)
_AUTH_CODES = frozenset(
    {
        "NotAuthorizedException",
        "UserNotFoundException",
        "UserNotConfirmedException",
        "PasswordResetRequiredException",
        "AccessDeniedException",
        "AccessDenied",
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "ExpiredTokenException",
        "InvalidClientTokenId",
    }
)


def aws_error_code(exc: BaseException) -> str | None:
    """The ``Error.Code`` of a botocore ``ClientError`` (or None for anything else)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code else None
    return None


def status_of(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return int(status) if isinstance(status, int) else None
    return None


def classify_aws(exc: BaseException, operation: str) -> tuple[ErrorKind, str]:
    """The kind and a safe one-line message for an exception from an AWS call."""
    from botocore import exceptions as bx

    code = aws_error_code(exc)
    if code is not None:
        status = status_of(exc)
        where = f"{operation}: {code}" + (f" (HTTP {status})" if status else "")
        if code in THROTTLE_CODES or status == 429:
            return ErrorKind.HTTP_429, where
        if code in _AUTH_CODES or status in (401, 403):
            return ErrorKind.AUTH, where
        if status is not None and status >= 500:
            return ErrorKind.HTTP_5XX, where
        return ErrorKind.HTTP_4XX, where
    name = type(exc).__name__
    if isinstance(exc, bx.ReadTimeoutError | asyncio.TimeoutError | TimeoutError):
        return ErrorKind.TIMEOUT, f"{operation}: timed out ({name})"
    if isinstance(exc, bx.ConnectTimeoutError | bx.EndpointConnectionError | ConnectionError):
        return ErrorKind.CONNECT, f"{operation}: cannot connect ({name})"
    if isinstance(exc, bx.ConnectionClosedError):
        return ErrorKind.STREAM_BROKEN, f"{operation}: connection closed ({name})"
    if isinstance(exc, bx.NoCredentialsError | bx.PartialCredentialsError):
        return ErrorKind.AUTH, f"{operation}: no AWS credentials found (env, profile or role)"
    if isinstance(exc, bx.CredentialRetrievalError):
        return ErrorKind.AUTH, f"{operation}: AWS credentials could not be refreshed ({name})"
    return ErrorKind.PROTOCOL, f"{operation}: {name}"
