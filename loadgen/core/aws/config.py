"""The profile's AWS sections, read into frozen dataclasses; pure, no boto import.

Each ``parse_*`` takes the section's mapping and a ``problem(path, what, fix)`` callback;
``path`` is a tuple suffix below the section (``("users", 0, "password")``) so the profile
validator can print ``file:line``. Every problem is reported, then None is returned. Secrets
(passwords, client secrets) are never put into a problem message.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from loadgen.core.units import parse_duration

__all__ = [
    "AwsConfig",
    "CloudWatchConfig",
    "CognitoConfig",
    "CognitoUser",
    "CostConfig",
    "PushConfig",
    "SigV4Config",
    "parse_aws",
    "parse_cognito",
    "parse_sigv4",
]

Path = tuple[str | int, ...]
ProblemFn = Callable[[Path, str, str], None]


@dataclass(frozen=True, slots=True)
class CognitoUser:
    username: str
    password: str

    def __repr__(self) -> str:  # never show the password in logs or tracebacks
        return f"CognitoUser(username={self.username!r}, password='***')"


@dataclass(frozen=True, kw_only=True, slots=True)
class CognitoConfig:
    """``auth.kind: cognito``: user-pool login and where the token goes."""

    region: str
    user_pool_id: str
    client_id: str
    client_secret: str | None = None
    flow: str = "password"  # password (USER_PASSWORD_AUTH) | srp (USER_SRP_AUTH)
    users: tuple[CognitoUser, ...]
    share: str = "per_vu"  # per_vu: one session per VU | shared: one session per user
    token: str = "id"  # id | access
    header: str = "Authorization"
    scheme: str = "Bearer"
    query: str | None = None  # put the token in this query parameter instead of a header
    refresh_before: float = 300.0
    backoff_initial: float = 1.0
    backoff_max: float = 60.0
    endpoint_url: str | None = None

    def __repr__(self) -> str:
        return (
            f"CognitoConfig(pool={self.user_pool_id!r}, client={self.client_id!r}, "
            f"flow={self.flow!r}, users={len(self.users)}, share={self.share!r})"
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class SigV4Config:
    """``auth.kind: sigv4``: sign with the standard credential chain."""

    region: str
    service: str = "execute-api"  # lambda for Lambda function URLs
    profile: str | None = None
    endpoint_url: str | None = None  # STS/IMDS are not overridden; only for tests' clients


@dataclass(frozen=True, kw_only=True, slots=True)
class PushConfig:
    namespace: str = "loadgen"
    dimensions: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class CloudWatchConfig:
    """Which server-side metrics to pull after the run (and whether to push ours)."""

    api_names: tuple[str, ...] = ()  # REST APIs: dimension ApiName
    api_ids: tuple[str, ...] = ()  # HTTP and WebSocket APIs: dimension ApiId
    stage: str | None = None
    functions: tuple[str, ...] = ()
    period: int = 60
    wait: float = 0.0  # CloudWatch lags a few minutes behind; wait before pulling
    push: PushConfig | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class CostConfig:
    api: str = "rest"  # rest | http | websocket | none
    lambda_memory_mb: int | None = None  # None: read from the function's configuration
    lambda_arch: str = "x86_64"  # x86_64 | arm64
    free_tier: bool = False  # subtract the monthly free tier (as if this run were the month)


@dataclass(frozen=True, kw_only=True, slots=True)
class AwsConfig:
    """The profile's top-level ``aws:`` section."""

    region: str
    endpoint_url: str | None = None
    cloudwatch: CloudWatchConfig | None = None
    cost: CostConfig | None = None


class _Reader:
    """Reads one mapping, reporting unknown keys (with the closest name) and bad values."""

    def __init__(self, data: Any, problem: ProblemFn, prefix: Path, keys: Sequence[str]) -> None:
        self.problem = problem
        self.prefix = prefix
        self.ok = True
        self.data: Mapping[str, Any] = data if isinstance(data, Mapping) else {}
        if not isinstance(data, Mapping):
            self.bad((), "must be a mapping", "write key: value pairs")
            return
        for key in data:
            if key not in keys:
                close = difflib.get_close_matches(str(key), keys, n=1)
                fix = f"did you mean {close[0]!r}?" if close else f"valid: {', '.join(keys)}"
                self.bad((str(key),), "unknown key", fix)

    def bad(self, path: Path, what: str, fix: str = "") -> None:
        self.ok = False
        self.problem((*self.prefix, *path), what, fix)

    def text(self, key: str, default: str | None = None, *, required: bool = False) -> str | None:
        value = self.data.get(key)
        if value is None or value == "":
            if required:
                self.bad((key,), "is required", f"set {key} (discover prints it)")
            return default
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.bad((key,), "must be a string")
            return default
        return str(value)

    def choice(self, key: str, default: str, choices: Sequence[str]) -> str:
        value = self.text(key, default) or default
        if value not in choices:
            self.bad((key,), f"{value!r} is not one of {', '.join(choices)}", f"write {choices[0]}")
            return default
        return value

    def duration(self, key: str, default: float) -> float:
        value = self.data.get(key)
        if value is None:
            return default
        try:
            return parse_duration(value)
        except ValueError as exc:
            self.bad((key,), str(exc), "write e.g. 30s or 5m")
            return default

    def names(self, key: str) -> tuple[str, ...]:
        value = self.data.get(key)
        if value is None:
            return ()
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(i, str) and i for i in items):
            self.bad((key,), "must be a name or a list of names", f"write {key}: [name]")
            return ()
        return tuple(items)

    def flag(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            self.bad((key,), "must be true or false")
            return default
        return value

    def whole(self, key: str, default: int | None, *, low: int = 1) -> int | None:
        value = self.data.get(key, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            self.bad((key,), f"must be a whole number ≥ {low}")
            return default
        return value


_COGNITO_KEYS = (
    "kind", "region", "user_pool_id", "client_id", "client_secret", "flow", "users", "share",
    "token", "header", "scheme", "query", "refresh_before", "backoff", "endpoint_url",
)  # fmt: skip


def _users(value: Any, r: _Reader) -> tuple[CognitoUser, ...]:
    """A list of ``{username, password}``, or ``{username: "lt-{n}", password, count}``."""
    if isinstance(value, Mapping):
        sub = _Reader(value, r.problem, (*r.prefix, "users"), ("username", "password", "count"))
        pattern = sub.text("username", required=True)
        password = sub.text("password", required=True)
        count = sub.whole("count", None)
        if count is None:
            sub.bad(("count",), "is required with a username pattern", "write count: 10")
        elif pattern is not None and "{n" not in pattern:
            sub.bad(("username",), "a pattern needs {n}", 'write e.g. "loadtest-{n}"')
        if not sub.ok or pattern is None or password is None or count is None:
            r.ok = False
            return ()
        try:
            return tuple(CognitoUser(pattern.format(n=n), password) for n in range(1, count + 1))
        except (ValueError, IndexError, KeyError):
            r.bad(("users", "username"), "is not a valid pattern", 'write e.g. "loadtest-{n:03d}"')
            return ()
    if not isinstance(value, list) or not value:
        r.bad(("users",), "must list at least one user", "write users: [{username, password}]")
        return ()
    out = []
    for i, item in enumerate(value):
        sub = _Reader(item, r.problem, (*r.prefix, "users", i), ("username", "password"))
        name, password = sub.text("username", required=True), sub.text("password", required=True)
        if sub.ok and name is not None and password is not None:
            out.append(CognitoUser(name, password))
        else:
            r.ok = False
    return tuple(out)


def parse_cognito(data: Mapping[str, Any], problem: ProblemFn) -> CognitoConfig | None:
    """Read an ``auth: {kind: cognito, ...}`` section; None when anything is wrong."""
    r = _Reader(data, problem, (), _COGNITO_KEYS)
    region = r.text("region", required=True)
    pool = r.text("user_pool_id", required=True)
    client = r.text("client_id", required=True)
    users = _users(r.data.get("users"), r)
    backoff = _Reader(r.data.get("backoff", {}), problem, ("backoff",), ("initial", "max"))
    initial, cap = backoff.duration("initial", 1.0), backoff.duration("max", 60.0)
    if initial <= 0 or cap < initial:
        backoff.bad((), "needs 0 < initial ≤ max", "write backoff: {initial: 1s, max: 60s}")
    if pool is not None and region is not None and not pool.startswith(f"{region}_"):
        r.bad(("user_pool_id",), f"does not belong to region {region}", "check region")
    config = CognitoConfig(
        region=region or "",
        user_pool_id=pool or "",
        client_id=client or "",
        client_secret=r.text("client_secret"),
        flow=r.choice("flow", "password", ("password", "srp")),
        users=users,
        share=r.choice("share", "per_vu", ("per_vu", "shared")),
        token=r.choice("token", "id", ("id", "access")),
        header=r.text("header", "Authorization") or "Authorization",
        scheme=(r.text("scheme") or "") if "scheme" in r.data else "Bearer",  # "" = raw token
        query=r.text("query"),
        refresh_before=r.duration("refresh_before", 300.0),
        backoff_initial=initial,
        backoff_max=cap,
        endpoint_url=r.text("endpoint_url"),
    )
    return config if r.ok and backoff.ok else None


def parse_sigv4(data: Mapping[str, Any], problem: ProblemFn) -> SigV4Config | None:
    """Read an ``auth: {kind: sigv4, ...}`` section; None when anything is wrong."""
    r = _Reader(data, problem, (), ("kind", "region", "service", "profile", "endpoint_url"))
    config = SigV4Config(
        region=r.text("region", required=True) or "",
        service=r.text("service", "execute-api") or "execute-api",
        profile=r.text("profile"),
        endpoint_url=r.text("endpoint_url"),
    )
    return config if r.ok else None


def _cloudwatch(value: Any, problem: ProblemFn) -> CloudWatchConfig | None:
    keys = ("api_names", "api_ids", "stage", "functions", "period", "wait", "push")
    r = _Reader(value, problem, ("cloudwatch",), keys)
    period = r.duration("period", 60.0)
    if (
        period < 1
        or (period >= 60 and period % 60)
        or (period < 60 and period not in (1, 5, 10, 30))
    ):
        r.bad(("period",), "CloudWatch periods are 1s, 5s, 10s, 30s or a multiple of 60s")
    push = None
    if "push" in r.data and r.data["push"] is not False:
        raw = r.data["push"] if isinstance(r.data["push"], Mapping) else {}
        p = _Reader(raw, problem, ("cloudwatch", "push"), ("namespace", "dimensions"))
        dims = p.data.get("dimensions", {})
        if not isinstance(dims, Mapping) or not all(isinstance(v, str) for v in dims.values()):
            p.bad(("dimensions",), "must map names to strings", "write {Profile: spike}")
            dims = {}
        push = PushConfig(
            namespace=p.text("namespace", "loadgen") or "loadgen",
            dimensions=tuple((str(k), str(v)) for k, v in dims.items()),
        )
        r.ok = r.ok and p.ok
    config = CloudWatchConfig(
        api_names=r.names("api_names"),
        api_ids=r.names("api_ids"),
        stage=r.text("stage"),
        functions=r.names("functions"),
        period=int(period),
        wait=r.duration("wait", 0.0),
        push=push,
    )
    if not (config.api_names or config.api_ids or config.functions or push):
        r.bad((), "names nothing to pull", "set api_names, api_ids or functions")
    return config if r.ok else None


def _cost(value: Any, problem: ProblemFn) -> CostConfig | None:
    keys = ("api", "lambda_memory_mb", "lambda_arch", "free_tier")
    r = _Reader(value, problem, ("cost",), keys)
    config = CostConfig(
        api=r.choice("api", "rest", ("rest", "http", "websocket", "none")),
        lambda_memory_mb=r.whole("lambda_memory_mb", None, low=128),
        lambda_arch=r.choice("lambda_arch", "x86_64", ("x86_64", "arm64")),
        free_tier=r.flag("free_tier", False),
    )
    return config if r.ok else None


def parse_aws(data: Mapping[str, Any], problem: ProblemFn) -> AwsConfig | None:
    """Read the profile's ``aws: {region, endpoint_url, cloudwatch, cost}`` section."""
    r = _Reader(data, problem, (), ("region", "endpoint_url", "cloudwatch", "cost"))
    cloudwatch = _cloudwatch(r.data["cloudwatch"], problem) if "cloudwatch" in r.data else None
    cost = _cost(r.data["cost"], problem) if "cost" in r.data else None
    config = AwsConfig(
        region=r.text("region", required=True) or "",
        endpoint_url=r.text("endpoint_url"),
        cloudwatch=cloudwatch,
        cost=cost,
    )
    bad_sub = ("cloudwatch" in r.data and cloudwatch is None) or ("cost" in r.data and not cost)
    return config if r.ok and not bad_sub else None
