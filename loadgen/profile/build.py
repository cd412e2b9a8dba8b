"""Validate expanded profile data and build the typed ``Profile``.

Every problem is collected (not just the first) with its file, line, field and a fix, as k6's
``Validate() []error`` does; the caller raises one ``ProfileError`` holding them all.
"""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from loadgen import units
from loadgen.errors import Problem
from loadgen.profile.model import (
    ChatTask,
    DataPools,
    HttpTask,
    Load,
    Profile,
    ReportSpec,
    Stage,
    TargetSpec,
    Task,
    ThinkTime,
    UserClass,
)
from loadgen.profile.source import Lines, Path_
from loadgen.thresholds import Threshold
from loadgen.thresholds import parse as parse_threshold

__all__ = ["Builder"]

T = TypeVar("T")
_HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
_FORMATS = ("json", "html", "csv", "junit", "hlog")


class Builder:
    """Walks the data once; ``problems`` holds what is wrong when it returns None."""

    def __init__(self, lines: Lines, base_dir: Path) -> None:
        self.lines = lines
        self.base_dir = base_dir
        self.problems: list[Problem] = []

    # -- helpers ---------------------------------------------------------------------------
    def bad(self, path: Path_, what: str, fix: str = "") -> None:
        self.problems.append(self.lines.problem(path, what, fix))

    def mapping(self, value: Any, path: Path_, allowed: tuple[str, ...]) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.bad(
                path,
                f"expected a mapping (key: value), got {_kind(value)}",
                f"write it as keys: {', '.join(allowed)}",
            )
            return {}
        for key in value:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1)
                hint = (
                    f"did you mean '{close[0]}'?" if close else f"valid keys: {', '.join(allowed)}"
                )
                self.bad((*path, str(key)), "unknown key", hint)
        return {str(k): v for k, v in value.items() if k in allowed}

    def typed(self, value: Any, path: Path_, kind: type, default: Any, fix: str = "") -> Any:
        if value is None:
            return default
        if kind in (int, float) and isinstance(value, str):
            # "${USERS:-10}" must be quoted inside a flow mapping; accept its number.
            with contextlib.suppress(ValueError):
                value = kind(value.strip())
        ok = isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if not ok:
            self.bad(path, f"expected {kind.__name__}, got {_kind(value)} {value!r}", fix)
            return default
        return value

    def unit(self, value: Any, path: Path_, parse: Callable[[Any], T], default: T) -> T:
        if value is None:
            return default
        try:
            return parse(value)
        except ValueError as exc:
            what, _, fix = str(exc).partition("; ")
            self.bad(path, what, fix)
            return default

    def positive(self, value: Any, path: Path_, default: float, what: str = "weight") -> float:
        number: float = self.typed(value, path, float, default, f"use a number > 0 for {what}")
        if number <= 0:
            self.bad(path, f"{what} must be > 0, got {number:g}", f"use a number > 0 for {what}")
            return default
        return number

    # -- sections --------------------------------------------------------------------------
    def profile(self, data: Any, path: Path | None, default_name: str) -> Profile | None:
        top = self.mapping(
            data,
            (),
            (
                "name",
                "description",
                "target",
                "data",
                "users",
                "load",
                "seed",
                "report",
                "thresholds",
            ),
        )
        name = self.typed(top.get("name"), ("name",), str, default_name)
        target = self.target(top.get("target"), ("target",))
        pools = self.data(top.get("data"), ("data",))
        if "users" not in top:
            self.bad((), "missing 'users'", "add users: a list of user classes with tasks")
        users = self.user_classes(top.get("users"), ("users",), pools)
        if "load" not in top:
            self.bad((), "missing 'load'", "add load: {stages: [{duration: 30s, users: 5}]}")
        load = self.load(top.get("load"), ("load",))
        seed = self.typed(top.get("seed"), ("seed",), int, None)
        report = self.report_spec(top.get("report"), ("report",))
        thresholds = self.thresholds(top.get("thresholds"), ("thresholds",))
        if self.problems or target is None:
            return None
        return Profile(
            name=name,
            target=target,
            users=users,
            load=load,
            data=pools,
            seed=seed,
            report=report,
            thresholds=thresholds,
            path=path,
            raw=dict(top),
        )

    def thresholds(self, value: Any, path: Path_) -> tuple[Threshold, ...]:
        """``{"ttft.p95": "< 1500ms"}`` or a list of ``"ttft.p95 < 1500ms"``; either form may
        give ``{condition|expr: ..., abort_on_fail: true, after: 30s}``."""
        if value is None:
            return ()
        items: list[tuple[Path_, str, Any]] = []
        if isinstance(value, Mapping):
            for key, spec in value.items():
                p = (*path, str(key))
                if isinstance(spec, Mapping):
                    opts = self.mapping(spec, p, ("condition", "abort_on_fail", "after"))
                    items.append((p, f"{key} {opts.get('condition', '')}", opts))
                else:
                    items.append((p, f"{key} {spec}", {}))
        elif isinstance(value, list):
            for i, spec in enumerate(value):
                p = (*path, i)
                if isinstance(spec, Mapping):
                    opts = self.mapping(spec, p, ("expr", "abort_on_fail", "after"))
                    items.append((p, str(opts.get("expr", "")), opts))
                else:
                    items.append((p, str(spec), {}))
        else:
            self.bad(
                path,
                "expected a mapping or a list of expressions",
                'write thresholds: {"ttft.p95": "< 1500ms"}',
            )
            return ()
        out = []
        for p, expr, opts in items:
            abort = self.typed(opts.get("abort_on_fail"), (*p, "abort_on_fail"), bool, False)
            after = self.unit(opts.get("after"), (*p, "after"), units.parse_duration, 0.0)
            try:
                out.append(parse_threshold(expr, abort_on_fail=abort, after=after))
            except ValueError as exc:
                what, _, fix = str(exc).partition("; ")
                self.bad(p, what, fix)
        return tuple(out)

    def target(self, value: Any, path: Path_) -> TargetSpec | None:
        if value is None:
            self.bad(
                path, "missing 'target'", "add target: {base_url: builtin} or your server's URL"
            )
            return None
        t = self.mapping(
            value,
            path,
            (
                "base_url",
                "timeout",
                "connect_timeout",
                "verify",
                "headers",
                "tokenizer",
                "transport",
                "builtin",
            ),
        )
        transport = self.typed(t.get("transport"), (*path, "transport"), str, "fast")
        if transport not in ("fast", "httpx"):
            self.bad(
                (*path, "transport"),
                f"unknown transport {transport!r}",
                "use fast (the lean HTTP/1.1 client) or httpx (proxies, HTTP/2)",
            )
            transport = "fast"
        base_url = self.typed(t.get("base_url"), (*path, "base_url"), str, "")
        if not base_url:
            self.bad(
                (*path, "base_url"),
                "missing base_url",
                "write base_url: builtin, or http(s)://host:port of your chatbot",
            )
        elif base_url != "builtin" and not base_url.startswith(("http://", "https://")):
            self.bad(
                (*path, "base_url"),
                f"{base_url!r} is not an http(s) URL",
                "write http://host:port or https://host, or builtin",
            )
        verify = t.get("verify", True)
        if not isinstance(verify, bool | str):
            self.bad((*path, "verify"), "expected true, false or a CA bundle path")
            verify = True
        if isinstance(verify, str) and not (self.base_dir / verify).is_file():
            self.bad(
                (*path, "verify"),
                f"CA bundle {verify!r} not found",
                "give a PEM file path relative to the profile",
            )
        headers = self.str_map(t.get("headers"), (*path, "headers"))
        builtin = t.get("builtin") or {}
        if not isinstance(builtin, Mapping):
            self.bad(
                (*path, "builtin"),
                "expected a mapping of built-in target settings",
                "see docs/target.md for its keys",
            )
            builtin = {}
        return TargetSpec(
            base_url=base_url.rstrip("/"),
            timeout=self.unit(t.get("timeout"), (*path, "timeout"), units.parse_duration, 60.0),
            connect_timeout=self.unit(
                t.get("connect_timeout"), (*path, "connect_timeout"), units.parse_duration, 10.0
            ),
            verify=verify if isinstance(verify, bool) else str(self.base_dir / verify),
            headers=headers,
            tokenizer=self.typed(t.get("tokenizer"), (*path, "tokenizer"), str, None),
            builtin=dict(builtin),
            transport=transport,
        )

    def str_map(self, value: Any, path: Path_) -> dict[str, str]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.bad(path, f"expected a mapping of names to strings, got {_kind(value)}")
            return {}
        return {str(k): str(v) for k, v in value.items()}

    def data(self, value: Any, path: Path_) -> DataPools:
        d = self.mapping(value, path, ("questions",))
        ref = d.get("questions")
        if ref is None:
            from loadgen.profile.pools import default_pools

            return default_pools()
        if not isinstance(ref, str):
            self.bad(
                (*path, "questions"), "expected a file path", "write questions: data/questions.yaml"
            )
            return DataPools()
        from loadgen.profile.pools import load_pools

        pools, problems = load_pools(self.base_dir / ref)
        for p in problems:
            self.problems.append(
                p if p.line else self.lines.problem((*path, "questions"), p.what, p.fix)
            )
        return pools

    def user_classes(self, value: Any, path: Path_, pools: DataPools) -> tuple[UserClass, ...]:
        if value is None:
            return ()
        if not isinstance(value, list) or not value:
            self.bad(
                path,
                "expected a non-empty list of user classes",
                "write users: [{name: regular, tasks: [...]}]",
            )
            return ()
        out = []
        names: set[str] = set()
        for i, item in enumerate(value):
            p = (*path, i)
            u = self.mapping(
                item, p, ("name", "weight", "think_time", "tasks", "on_start", "on_stop")
            )
            name = self.typed(u.get("name"), (*p, "name"), str, f"user{i + 1}")
            if name in names:
                self.bad(
                    (*p, "name"), f"user class {name!r} defined twice", "give each a unique name"
                )
            names.add(name)
            tasks = self.tasks(u.get("tasks"), (*p, "tasks"), pools)
            if not tasks and "tasks" not in u:
                self.bad(p, "a user class needs tasks", "add tasks: [{chat: {category: simple}}]")
            out.append(
                UserClass(
                    name=name,
                    weight=self.positive(u.get("weight", 1), (*p, "weight"), 1.0),
                    think_time=self.think_time(u.get("think_time"), (*p, "think_time")),
                    tasks=tasks,
                    on_start=self.tasks(u.get("on_start"), (*p, "on_start"), pools),
                    on_stop=self.tasks(u.get("on_stop"), (*p, "on_stop"), pools),
                )
            )
        return tuple(out)

    def think_time(self, value: Any, path: Path_) -> ThinkTime:
        if value is None:
            return ThinkTime()
        if not isinstance(value, Mapping):
            d = self.unit(value, path, units.parse_duration, 0.0)
            return ThinkTime(kind="constant", low=d, high=d, mean=d)
        t = self.mapping(value, path, ("constant", "uniform", "exponential"))
        if len(t) != 1:
            self.bad(
                path,
                "give exactly one of constant, uniform, exponential",
                "write {uniform: [2s, 8s]}, {constant: 1s} or {exponential: 3s}",
            )
            return ThinkTime()
        kind, arg = next(iter(t.items()))
        p = (*path, kind)
        if kind == "uniform":
            if not isinstance(arg, list) or len(arg) != 2:
                self.bad(p, "expected [low, high]", "write uniform: [2s, 8s]")
                return ThinkTime()
            low = self.unit(arg[0], (*p, 0), units.parse_duration, 0.0)
            high = self.unit(arg[1], (*p, 1), units.parse_duration, 0.0)
            if high < low:
                self.bad(p, "high is below low", "write [low, high]")
            return ThinkTime(kind="uniform", low=low, high=high, mean=(low + high) / 2)
        d = self.unit(arg, p, units.parse_duration, 0.0)
        return ThinkTime(kind=kind, low=d, high=d, mean=d)  # type: ignore[arg-type]

    def tasks(self, value: Any, path: Path_, pools: DataPools) -> tuple[Task, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            self.bad(
                path,
                f"expected a list of tasks, got {_kind(value)}",
                "write - {weight: 1, chat: {category: simple}}",
            )
            return ()
        return tuple(
            t
            for i, item in enumerate(value)
            if (t := self.task(item, (*path, i), pools)) is not None
        )

    def task(self, value: Any, path: Path_, pools: DataPools) -> Task | None:
        t = self.mapping(value, path, ("name", "weight", "chat", "http"))
        kinds = [k for k in ("chat", "http") if k in t]
        if len(kinds) != 1:
            self.bad(
                path,
                "a task needs exactly one of: chat, http",
                "write {chat: {category: simple}} or {http: {path: /health}}",
            )
            return None
        weight = self.positive(t.get("weight", 1), (*path, "weight"), 1.0)
        if kinds[0] == "chat":
            chat = self.chat(t["chat"], (*path, "chat"), pools)
            default = (
                "chat.multi_turn"
                if chat.conversation
                else f"chat.{chat.category}"
                if chat.category
                else "chat"
            )
            name = self.typed(t.get("name"), (*path, "name"), str, default)
            return Task(name=name, weight=weight, chat=chat)
        http = self.http(t["http"], (*path, "http"))
        name = self.typed(t.get("name"), (*path, "name"), str, f"{http.method} {http.path}")
        return Task(name=name, weight=weight, http=http)

    def chat(self, value: Any, path: Path_, pools: DataPools) -> ChatTask:
        c = self.mapping(
            value,
            path,
            (
                "api",
                "path",
                "model",
                "stream",
                "max_tokens",
                "category",
                "prompt",
                "conversation",
                "include_usage",
                "headers",
                "content_event",
                "content_field",
                "done_event",
                "usage_field",
                "body",
            ),
        )
        api = self.typed(c.get("api"), (*path, "api"), str, "openai")
        if api not in ("openai", "sse", "text", "json"):
            self.bad((*path, "api"), f"unknown api {api!r}", "use openai, sse, text or json")
            api = "openai"
        category = self.typed(c.get("category"), (*path, "category"), str, None)
        if category is not None and category not in pools.questions:
            have = ", ".join(sorted(pools.questions)) or "none"
            self.bad(
                (*path, "category"),
                f"no question pool {category!r} in {pools.source}",
                f"use one of: {have}",
            )
        conversation = self.typed(c.get("conversation"), (*path, "conversation"), bool, False)
        if conversation and not pools.conversations:
            self.bad(
                (*path, "conversation"),
                f"{pools.source} has no conversations",
                "add conversations: [[turn, turn, ...]] to the data file",
            )
        max_tokens = self.typed(c.get("max_tokens"), (*path, "max_tokens"), int, None)
        if max_tokens is not None and max_tokens <= 0:
            self.bad((*path, "max_tokens"), "must be > 0")
        default_path = "/v1/chat/completions" if api == "openai" else "/api/chat"
        body = c.get("body")
        if body is not None and not isinstance(body, Mapping):
            self.bad(
                (*path, "body"),
                "expected a JSON object template",
                'write body: {message: "{{ prompt }}"}',
            )
            body = None
        return ChatTask(
            api=api,
            path=self.typed(c.get("path"), (*path, "path"), str, default_path),
            model=self.typed(c.get("model"), (*path, "model"), str, "builtin"),
            stream=self.typed(c.get("stream"), (*path, "stream"), bool, True),
            max_tokens=max_tokens,
            category=category,
            prompt=self.typed(c.get("prompt"), (*path, "prompt"), str, None),
            conversation=conversation,
            include_usage=self.typed(c.get("include_usage"), (*path, "include_usage"), bool, True),
            headers=self.str_map(c.get("headers"), (*path, "headers")),
            content_event=self.typed(c.get("content_event"), (*path, "content_event"), str, None),
            content_field=self.typed(
                c.get("content_field"), (*path, "content_field"), str, "content"
            ),
            done_event=self.typed(c.get("done_event"), (*path, "done_event"), str, "done"),
            usage_field=self.typed(
                c.get("usage_field"), (*path, "usage_field"), str, "usage.completion_tokens"
            ),
            body=dict(body) if body else None,
        )

    def http(self, value: Any, path: Path_) -> HttpTask:
        h = self.mapping(value, path, ("method", "path", "headers", "json", "body"))
        method = self.typed(h.get("method"), (*path, "method"), str, "GET").upper()
        if method not in _HTTP_METHODS:
            self.bad(
                (*path, "method"),
                f"unknown method {method!r}",
                f"use one of {', '.join(_HTTP_METHODS)}",
            )
        p = self.typed(h.get("path"), (*path, "path"), str, "/")
        if not p.startswith("/"):
            self.bad((*path, "path"), f"{p!r} does not start with /", f"write /{p}")
        return HttpTask(
            method=method,
            path=p,
            headers=self.str_map(h.get("headers"), (*path, "headers")),
            json=h.get("json"),
            body=self.typed(h.get("body"), (*path, "body"), str, None),
        )

    def load(self, value: Any, path: Path_) -> Load:
        ld = self.mapping(
            value,
            path,
            (
                "model",
                "stages",
                "users",
                "rate",
                "duration",
                "ramp_up",
                "graceful_stop",
                "arrival",
                "burstiness",
                "max_in_flight",
                "queue",
            ),
        )
        model = self.typed(ld.get("model"), (*path, "model"), str, "closed")
        if model not in ("closed", "open"):
            self.bad(
                (*path, "model"),
                f"unknown load model {model!r}",
                "use closed (a number of users) or open (an arrival rate)",
            )
            model = "closed"
        level_key = "users" if model == "closed" else "rate"
        other_key = "rate" if model == "closed" else "users"
        if other_key in ld:
            self.bad(
                (*path, other_key),
                f"{other_key} does not apply to the {model} model",
                f"use {level_key}, or set model: {'open' if model == 'closed' else 'closed'}",
            )
        extra: dict[str, Any] = {}
        if model == "open":
            arrival = self.typed(ld.get("arrival"), (*path, "arrival"), str, "constant")
            if arrival not in ("constant", "poisson", "gamma"):
                self.bad(
                    (*path, "arrival"),
                    f"unknown arrival process {arrival!r}",
                    "use constant, poisson or gamma",
                )
                arrival = "constant"
            max_in_flight = self.typed(ld.get("max_in_flight"), (*path, "max_in_flight"), int, 1000)
            if max_in_flight <= 0:
                self.bad((*path, "max_in_flight"), "must be > 0")
            extra = {
                "arrival": arrival,
                "max_in_flight": max_in_flight,
                "burstiness": self.positive(
                    ld.get("burstiness", 1.0), (*path, "burstiness"), 1.0, "burstiness"
                ),
                "queue": self.typed(ld.get("queue"), (*path, "queue"), bool, False),
            }
        else:
            for key in ("arrival", "burstiness", "max_in_flight", "queue"):
                if key in ld:
                    self.bad(
                        (*path, key),
                        f"{key} applies to the open model only",
                        "set model: open, or remove it",
                    )
        graceful = self.unit(
            ld.get("graceful_stop"), (*path, "graceful_stop"), units.parse_duration, 10.0
        )

        def level(raw: Any, p: Path_) -> float:
            if model == "closed":
                users = self.typed(raw, p, int, 0, "write a whole number of users")
                if users < 0:
                    self.bad(p, "users must be ≥ 0")
                return float(users)
            return self.unit(raw, p, units.parse_rate, 0.0)

        stages: list[Stage] = []
        if "stages" in ld:
            if level_key in ld or "duration" in ld:
                self.bad(
                    path,
                    f"give either stages or {level_key} + duration, not both",
                    f"drop {level_key}/duration or stages",
                )
            raw = ld["stages"]
            if not isinstance(raw, list) or not raw:
                self.bad(
                    (*path, "stages"),
                    "expected a non-empty list",
                    f"write stages: [{{duration: 30s, {level_key}: 10}}]",
                )
                raw = []
            for i, item in enumerate(raw):
                p = (*path, "stages", i)
                st = self.mapping(item, p, ("duration", level_key))
                if "duration" not in st or level_key not in st:
                    self.bad(
                        p,
                        f"a stage needs duration and {level_key}",
                        f"write {{duration: 30s, {level_key}: 10}}",
                    )
                    continue
                stages.append(
                    Stage(
                        duration=self.unit(
                            st["duration"], (*p, "duration"), units.parse_duration, 0.0
                        ),
                        target=level(st[level_key], (*p, level_key)),
                    )
                )
            start = 0.0
        else:
            if level_key not in ld or "duration" not in ld:
                self.bad(
                    path,
                    f"missing stages (or {level_key} + duration)",
                    f"write stages: [{{duration: 30s, {level_key}: 10}}] or "
                    f"{level_key}: 10, duration: 1m",
                )
                return Load(model=model, graceful_stop=graceful, **extra)
            peak = level(ld[level_key], (*path, level_key))
            if peak <= 0:
                self.bad((*path, level_key), f"{level_key} must be > 0")
            duration = self.unit(ld["duration"], (*path, "duration"), units.parse_duration, 0.0)
            ramp = self.unit(ld.get("ramp_up"), (*path, "ramp_up"), units.parse_duration, 0.0)
            if ramp > duration:
                self.bad((*path, "ramp_up"), "ramp_up is longer than duration", "shorten it")
            if ramp > 0:
                stages.append(Stage(duration=ramp, target=peak))
            stages.append(Stage(duration=duration - ramp, target=peak))
            start = 0.0 if ramp > 0 else peak
        if stages and sum(s.duration for s in stages) <= 0:
            self.bad((*path, "stages"), "the stages add up to no time", "give a duration > 0")
        return Load(model=model, stages=tuple(stages), start=start, graceful_stop=graceful, **extra)

    def report_spec(self, value: Any, path: Path_) -> ReportSpec:
        r = self.mapping(value, path, ("dir", "formats", "raw"))
        formats = r.get("formats", ["json"])
        if not isinstance(formats, list) or any(f not in _FORMATS for f in formats):
            self.bad((*path, "formats"), f"expected a list of {', '.join(_FORMATS)}")
            formats = ["json"]
        return ReportSpec(
            dir=self.typed(r.get("dir"), (*path, "dir"), str, "reports"),
            raw=self.typed(r.get("raw"), (*path, "raw"), bool, False),
            formats=tuple(dict.fromkeys(["json", *formats])),
        )


def _kind(value: Any) -> str:
    return {
        dict: "a mapping",
        list: "a list",
        str: "a string",
        int: "a number",
        float: "a number",
        bool: "true/false",
        type(None): "nothing",
    }.get(type(value), type(value).__name__)
