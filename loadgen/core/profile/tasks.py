"""Validation of user classes, tasks, journeys and their steps (chat, http, ws)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from loadgen.core import units
from loadgen.core.profile.authspec import AuthSection
from loadgen.core.profile.checker import Checker, kind_of
from loadgen.core.profile.model import (
    ChatTask,
    Condition,
    DataPools,
    Extract,
    HttpTask,
    Task,
    ThinkTime,
    Upload,
    UserClass,
    WsTask,
)
from loadgen.core.profile.source import Path_
from loadgen.core.template import BUILTINS, TemplateError, undeclared

__all__ = ["HTTP_METHODS", "TaskSections"]

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
_STEP_KINDS = ("chat", "http", "ws", "tasks")
_CONDITIONS = ("status", "json", "contains", "citations", "answer_length", "header")


class TaskSections:
    """User classes and everything inside them, read into ``check``; their ``auth:`` sections
    go to ``auth``, which reads a login request as an HTTP task of this section."""

    def __init__(self, check: Checker) -> None:
        self.check = check
        self.auth = AuthSection(check, self.http)

    def user_classes(self, value: Any, path: Path_, pools: DataPools) -> tuple[UserClass, ...]:
        if value is None:
            return ()
        if not isinstance(value, list) or not value:
            self.check.bad(
                path,
                "expected a non-empty list of user classes",
                "write users: [{name: regular, tasks: [...]}]",
            )
            return ()
        out = []
        names: set[str] = set()
        for i, item in enumerate(value):
            p = (*path, i)
            u = self.check.mapping(
                item,
                p,
                (
                    "name",
                    "weight",
                    "think_time",
                    "tasks",
                    "journey",
                    "on_start",
                    "on_stop",
                    "vars",
                    "auth",
                ),
            )
            name = self.check.typed(u.get("name"), (*p, "name"), str, f"user{i + 1}")
            if name in names:
                self.check.bad(
                    (*p, "name"), f"user class {name!r} defined twice", "give each a unique name"
                )
            names.add(name)
            tasks = self.tasks(u.get("tasks"), (*p, "tasks"), pools)
            journey = self.tasks(u.get("journey"), (*p, "journey"), pools)
            if "tasks" in u and "journey" in u:
                self.check.bad(
                    p,
                    "give either tasks (picked by weight) or journey (run in order)",
                    "put weighted choices inside the journey as a step: {tasks: [...]}",
                )
            if not tasks and not journey and "tasks" not in u and "journey" not in u:
                self.check.bad(
                    p,
                    "a user class needs tasks or a journey",
                    "add tasks: [{chat: {category: simple}}]",
                )
            variables, secret_vars = self.variables(u.get("vars"), (*p, "vars"))
            out.append(
                UserClass(
                    name=name,
                    weight=self.check.positive(u.get("weight", 1), (*p, "weight"), 1.0),
                    think_time=self.think_time(u.get("think_time"), (*p, "think_time")),
                    tasks=tasks,
                    journey=journey,
                    on_start=self.tasks(u.get("on_start"), (*p, "on_start"), pools),
                    on_stop=self.tasks(u.get("on_stop"), (*p, "on_stop"), pools),
                    vars=variables,
                    secret_vars=secret_vars,
                    auth=self.auth.auth_spec(u["auth"], (*p, "auth")) if "auth" in u else None,
                )
            )
            self._check_variables(u, p, out[-1], pools)
        return tuple(out)

    def variables(self, value: Any, path: Path_) -> tuple[dict[str, str], frozenset[str]]:
        """``vars:`` name → template, or name → ``{value: ..., secret: true}`` for a value that
        must never appear in an output (names like *password* or *token* are secret anyway)."""
        plain: dict[str, Any] = {}
        secret: set[str] = set()
        for key, item in value.items() if isinstance(value, Mapping) else ():
            if isinstance(item, Mapping):
                spec = self.check.mapping(item, (*path, str(key)), ("value", "secret"))
                if "value" not in spec:
                    self.check.bad(
                        (*path, str(key)),
                        "a variable written as a mapping needs value:",
                        f"write {key}: {{value: ..., secret: true}}",
                    )
                if self.check.typed(spec.get("secret"), (*path, str(key), "secret"), bool, False):
                    secret.add(str(key))
                item = spec.get("value", "")
            plain[key] = item
        return self.check.str_map(plain if isinstance(value, Mapping) else value, path), frozenset(
            secret
        )

    def _check_variables(
        self, raw: Mapping[str, Any], path: Path_, cls: UserClass, pools: DataPools
    ) -> None:
        """Every ``{{ name }}`` in the class's steps must be a variable its VUs will have."""
        known = set(BUILTINS) | set(cls.vars) | {"token", "refresh_token"}
        if pools.rows:
            known |= set(pools.rows[0])

        def extracted(tasks: tuple[Task, ...]) -> set[str]:
            names: set[str] = set()
            for t in tasks:
                names |= {e.name for e in t.extract} | extracted(t.group)
            return names

        known |= extracted(cls.on_start + cls.tasks + cls.journey + cls.on_stop)

        def walk(value: Any, p: Path_) -> None:
            if isinstance(value, str):
                try:
                    missing = undeclared(value) - known
                except TemplateError as exc:
                    self.check.bad(p, str(exc), "fix the {{ ... }} syntax")
                    return
                if missing:
                    self.check.bad(
                        p,
                        f"unknown variable {', '.join(sorted(missing))}",
                        "define it in vars:, a data rows column, or an extract: of an "
                        f"earlier step (known: {', '.join(sorted(known))})",
                    )
            elif isinstance(value, Mapping):
                for k, v in value.items():
                    if k not in ("extract", "checks", "count"):
                        walk(v, (*p, str(k)))
            elif isinstance(value, list):
                for i, v in enumerate(value):
                    walk(v, (*p, i))

        for key in ("tasks", "journey", "on_start", "on_stop", "vars", "auth"):
            if key in raw:
                walk(raw[key], (*path, key))

    def think_time(self, value: Any, path: Path_) -> ThinkTime:
        if value is None:
            return ThinkTime()
        if not isinstance(value, Mapping):
            d = self.check.unit(value, path, units.parse_duration, 0.0)
            return ThinkTime(kind="constant", low=d, high=d, mean=d)
        t = self.check.mapping(value, path, ("constant", "uniform", "exponential"))
        if len(t) != 1:
            self.check.bad(
                path,
                "give exactly one of constant, uniform, exponential",
                "write {uniform: [2s, 8s]}, {constant: 1s} or {exponential: 3s}",
            )
            return ThinkTime()
        kind, arg = next(iter(t.items()))
        p = (*path, kind)
        if kind == "uniform":
            if not isinstance(arg, list) or len(arg) != 2:
                self.check.bad(p, "expected [low, high]", "write uniform: [2s, 8s]")
                return ThinkTime()
            low = self.check.unit(arg[0], (*p, 0), units.parse_duration, 0.0)
            high = self.check.unit(arg[1], (*p, 1), units.parse_duration, 0.0)
            if high < low:
                self.check.bad(p, "high is below low", "write [low, high]")
            return ThinkTime(kind="uniform", low=low, high=high, mean=(low + high) / 2)
        d = self.check.unit(arg, p, units.parse_duration, 0.0)
        return ThinkTime(kind=cast(Any, kind), low=d, high=d, mean=d)

    def tasks(self, value: Any, path: Path_, pools: DataPools) -> tuple[Task, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            self.check.bad(
                path,
                f"expected a list of tasks, got {kind_of(value)}",
                "write - {weight: 1, chat: {category: simple}}",
            )
            return ()
        return tuple(
            t
            for i, item in enumerate(value)
            if (t := self.task(item, (*path, i), pools)) is not None
        )

    def task(self, value: Any, path: Path_, pools: DataPools) -> Task | None:
        t = self.check.mapping(
            value,
            path,
            (
                "name",
                "weight",
                *_STEP_KINDS,
                "repeat",
                "think_time",
                "extract",
                "checks",
                "count",
                "observe",
            ),
        )
        kinds = [k for k in _STEP_KINDS if k in t]
        if len(kinds) != 1:
            self.check.bad(
                path,
                f"a task needs exactly one of: {', '.join(_STEP_KINDS)}",
                "write {chat: {category: simple}} or {http: {path: /health}}",
            )
            return None
        kind = kinds[0]
        weight = self.check.positive(t.get("weight", 1), (*path, "weight"), 1.0)
        repeat = self.check.typed(t.get("repeat"), (*path, "repeat"), int, 1)
        if repeat < 1:
            self.check.bad((*path, "repeat"), "repeat must be ≥ 1")
        common: dict[str, Any] = {
            "weight": weight,
            "repeat": max(repeat, 1),
            "think_time": (
                self.think_time(t["think_time"], (*path, "think_time"))
                if "think_time" in t
                else None
            ),
            "extract": self.extracts(t.get("extract"), (*path, "extract")),
            "checks": self.conditions(t.get("checks"), (*path, "checks")),
            "count": self.counters(t.get("count"), (*path, "count")),
            "observe": self.observations(t.get("observe"), (*path, "observe")),
        }
        name = self.check.typed(t.get("name"), (*path, "name"), str, None)
        if kind == "chat":
            chat = self.chat(t["chat"], (*path, "chat"), pools)
            default = (
                "chat.multi_turn"
                if chat.conversation
                else f"chat.{chat.category}"
                if chat.category
                else "chat"
            )
            return Task(name=name or default, chat=chat, **common)
        if kind == "ws":
            ws = self.ws(t["ws"], (*path, "ws"), pools)
            default = f"ws.chat.{ws.category}" if ws.category else "ws.chat"
            return Task(name=name or default, ws=ws, **common)
        if kind == "tasks":
            group = self.tasks(t["tasks"], (*path, "tasks"), pools)
            if not group and isinstance(t["tasks"], list):
                self.check.bad((*path, "tasks"), "an empty group", "list the tasks to pick from")
            return Task(name=name or "group", group=group, **common)
        http = self.http(t["http"], (*path, "http"))
        return Task(name=name or f"{http.method} {http.path}", http=http, **common)

    def chat(self, value: Any, path: Path_, pools: DataPools) -> ChatTask:
        c = self.check.mapping(
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
        api = self.check.typed(c.get("api"), (*path, "api"), str, "openai")
        if api not in ("openai", "sse", "text", "json", "bedrock"):
            self.check.bad(
                (*path, "api"), f"unknown api {api!r}", "use openai, sse, text, json or bedrock"
            )
            api = "openai"
        category = self.check.typed(c.get("category"), (*path, "category"), str, None)
        if category is not None and category not in pools.questions:
            have = ", ".join(sorted(pools.questions)) or "none"
            self.check.bad(
                (*path, "category"),
                f"no question pool {category!r} in {pools.source}",
                f"use one of: {have}",
            )
        conversation = self.check.typed(c.get("conversation"), (*path, "conversation"), bool, False)
        if conversation and not pools.conversations:
            self.check.bad(
                (*path, "conversation"),
                f"{pools.source} has no conversations",
                "add conversations: [[turn, turn, ...]] to the data file",
            )
        max_tokens = self.check.typed(c.get("max_tokens"), (*path, "max_tokens"), int, None)
        if max_tokens is not None and max_tokens <= 0:
            self.check.bad((*path, "max_tokens"), "must be > 0", "write max_tokens: 256")
        default_path = "/v1/chat/completions" if api == "openai" else "/api/chat"
        body = c.get("body")
        if body is not None and not isinstance(body, Mapping):
            self.check.bad(
                (*path, "body"),
                "expected a JSON object template",
                'write body: {message: "{{ prompt }}"}',
            )
            body = None
        return ChatTask(
            api=api,
            path=self.check.typed(c.get("path"), (*path, "path"), str, default_path),
            model=self.check.typed(c.get("model"), (*path, "model"), str, "builtin"),
            stream=self.check.typed(c.get("stream"), (*path, "stream"), bool, True),
            max_tokens=max_tokens,
            category=category,
            prompt=self.check.typed(c.get("prompt"), (*path, "prompt"), str, None),
            conversation=conversation,
            include_usage=self.check.typed(
                c.get("include_usage"), (*path, "include_usage"), bool, True
            ),
            headers=self.check.str_map(c.get("headers"), (*path, "headers")),
            content_event=self.check.typed(
                c.get("content_event"), (*path, "content_event"), str, None
            ),
            content_field=self.check.typed(
                c.get("content_field"), (*path, "content_field"), str, "content"
            ),
            done_event=self.check.typed(c.get("done_event"), (*path, "done_event"), str, "done"),
            usage_field=self.check.typed(
                c.get("usage_field"), (*path, "usage_field"), str, "usage.completion_tokens"
            ),
            body=dict(body) if body else None,
        )

    def http(self, value: Any, path: Path_) -> HttpTask:
        h = self.check.mapping(
            value, path, ("method", "path", "headers", "json", "body", "upload", "auth")
        )
        default_method = "POST" if ("json" in h or "body" in h or "upload" in h) else "GET"
        method = self.check.typed(h.get("method"), (*path, "method"), str, default_method).upper()
        if method not in HTTP_METHODS:
            self.check.bad(
                (*path, "method"),
                f"unknown method {method!r}",
                f"use one of {', '.join(HTTP_METHODS)}",
            )
        p = self.check.typed(h.get("path"), (*path, "path"), str, "/")
        if not p.startswith("/"):
            self.check.bad((*path, "path"), f"{p!r} does not start with /", f"write /{p}")
        if sum(k in h for k in ("json", "body", "upload")) > 1:
            self.check.bad(path, "give one of json, body or upload", "a request has one body")
        return HttpTask(
            method=method,
            path=p,
            headers=self.check.str_map(h.get("headers"), (*path, "headers")),
            json=h.get("json"),
            body=self.check.typed(h.get("body"), (*path, "body"), str, None),
            upload=self.upload(h["upload"], (*path, "upload")) if "upload" in h else None,
            auth=self.check.typed(h.get("auth"), (*path, "auth"), bool, True),
        )

    def upload(self, value: Any, path: Path_) -> Upload:
        u = self.check.mapping(value, path, ("field", "size", "filename", "content_type", "form"))
        sizes = {"small": 4_000, "medium": 40_000, "large": 400_000}
        raw = u.get("size", "small")
        size = (
            sizes[raw]
            if raw in sizes
            else self.check.unit(raw, (*path, "size"), units.parse_size, 4000)
        )
        return Upload(
            form_field=self.check.typed(u.get("field"), (*path, "field"), str, "file"),
            size=size,
            filename=self.check.typed(
                u.get("filename"), (*path, "filename"), str, "document-{{ vu }}-{{ iteration }}.txt"
            ),
            content_type=self.check.typed(
                u.get("content_type"), (*path, "content_type"), str, "text/plain"
            ),
            form=self.check.str_map(u.get("form"), (*path, "form")),
        )

    def ws(self, value: Any, path: Path_, pools: DataPools) -> WsTask:
        w = self.check.mapping(
            value,
            path,
            (
                "path",
                "category",
                "prompt",
                "conversation",
                "message",
                "type_field",
                "token_type",
                "content_field",
                "end_type",
                "error_type",
                "usage_field",
                "token_query",
                "reconnect_backoff",
            ),
        )
        category = self.check.typed(w.get("category"), (*path, "category"), str, None)
        if category is not None and category not in pools.questions:
            self.check.bad(
                (*path, "category"),
                f"no question pool {category!r} in {pools.source}",
                f"use one of: {', '.join(sorted(pools.questions)) or 'none'}",
            )
        message = w.get("message")
        if message is not None and not isinstance(message, Mapping):
            self.check.bad(
                (*path, "message"),
                "expected a JSON object template",
                'write message: {type: message, content: "{{ prompt }}"}',
            )
            message = None
        token_query = w.get("token_query", "token")
        return WsTask(
            path=self.check.typed(w.get("path"), (*path, "path"), str, "/api/realtime/ws"),
            category=category,
            prompt=self.check.typed(w.get("prompt"), (*path, "prompt"), str, None),
            conversation=self.check.typed(
                w.get("conversation"), (*path, "conversation"), bool, False
            ),
            message=dict(message) if message else None,
            type_field=self.check.typed(w.get("type_field"), (*path, "type_field"), str, "type"),
            token_type=self.check.typed(w.get("token_type"), (*path, "token_type"), str, "token"),
            content_field=self.check.typed(
                w.get("content_field"), (*path, "content_field"), str, "content"
            ),
            end_type=self.check.typed(w.get("end_type"), (*path, "end_type"), str, "end"),
            error_type=self.check.typed(w.get("error_type"), (*path, "error_type"), str, "error"),
            usage_field=self.check.typed(
                w.get("usage_field"), (*path, "usage_field"), str, "usage.completion_tokens"
            ),
            token_query=None if token_query is None else str(token_query),
            reconnect_backoff=self.check.unit(
                w.get("reconnect_backoff"), (*path, "reconnect_backoff"), units.parse_duration, 1.0
            ),
        )

    def extracts(self, value: Any, path: Path_) -> tuple[Extract, ...]:
        """``extract: {token: {json: access_token}, rid: {header: x-request-id}}``."""
        if value is None:
            return ()
        if not isinstance(value, Mapping):
            self.check.bad(
                path,
                "expected a mapping of variable names to rules",
                "write extract: {token: {json: access_token}}",
            )
            return ()
        out = []
        for name, rule in value.items():
            p = (*path, str(name))
            r = self.check.mapping(rule, p, ("json", "header", "regex"))
            if len(r) != 1:
                self.check.bad(
                    p,
                    "give exactly one of json, header, regex",
                    "write {json: data.id}, {header: location} or {regex: 'id=(\\w+)'}",
                )
                continue
            source, expr = next(iter(r.items()))
            if source == "regex":
                import re

                try:
                    if re.compile(str(expr)).groups > 1:
                        self.check.bad(p, "a regex may have at most one group", "keep one (...)")
                except re.error as exc:
                    self.check.bad(p, f"invalid regex: {exc}", "check the pattern")
                    continue
            out.append(Extract(name=str(name), source=cast(Any, source), expr=str(expr)))
        return tuple(out)

    def observations(self, value: Any, path: Path_) -> tuple[Extract, ...]:
        """``observe: {answer_chars: answer_length, doc_bytes: {json: size}}``: custom
        histograms of a number taken from each response."""
        if value is None:
            return ()
        if not isinstance(value, Mapping):
            self.check.bad(
                path,
                "expected a mapping of histogram names to sources",
                "write observe: {answer_chars: answer_length}",
            )
            return ()
        out = []
        for name, source in value.items():
            p = (*path, str(name))
            if source in ("answer_length", "output_tokens", "body_size"):
                out.append(Extract(name=str(name), source=source, expr=""))
                continue
            rules = self.extracts({str(name): source}, path)
            if not rules:
                self.check.bad(
                    p,
                    "expected answer_length, output_tokens, body_size, or "
                    "{json: path} / {header: name} / {regex: '...'} giving a number",
                )
            out.extend(rules)
        return tuple(out)

    def counters(self, value: Any, path: Path_) -> tuple[Condition, ...]:
        """``count: {rate_limited: {status: 429}, with_citations: {citations: true}}``."""
        if value is None:
            return ()
        if not isinstance(value, Mapping):
            self.check.bad(
                path,
                "expected a mapping of counter names to conditions",
                "write count: {rate_limited: {status: 429}}",
            )
            return ()
        return tuple(
            c
            for name, cond in value.items()
            if (c := self.condition(cond, (*path, str(name)), str(name))) is not None
        )

    def conditions(self, value: Any, path: Path_) -> tuple[Condition, ...]:
        """``checks: [{status: 200}, {name: cites, citations: true}, ...]``."""
        if value is None:
            return ()
        if not isinstance(value, list):
            self.check.bad(path, "expected a list of checks", "write checks: [{status: 200}]")
            return ()
        out = []
        for i, item in enumerate(value):
            name = item.get("name") if isinstance(item, Mapping) else None
            rest = (
                {k: v for k, v in item.items() if k != "name"}
                if isinstance(item, Mapping)
                else item
            )
            c = self.condition(rest, (*path, i), str(name) if name else None)
            if c is not None:
                out.append(c)
        return tuple(out)

    def condition(self, value: Any, path: Path_, name: str | None) -> Condition | None:
        c = self.check.mapping(value, path, _CONDITIONS)
        if len(c) != 1:
            self.check.bad(
                path,
                f"give exactly one of {', '.join(_CONDITIONS)}",
                "write {status: 200}, {json: {path: id}}, {contains: text}, "
                "{citations: true} or {answer_length: {min: 20}}",
            )
            return None
        kind, arg = next(iter(c.items()))
        p = (*path, kind)
        label = name or f"{kind} {arg}" if not isinstance(arg, Mapping) else name or kind
        if kind == "status":
            values = arg if isinstance(arg, list) else [arg]
            if not all(isinstance(v, int) and 100 <= v <= 599 for v in values):
                self.check.bad(p, "expected an HTTP status or a list of them", "write status: 200")
                return None
            return Condition(name=name or f"status {arg}", kind="status", values=tuple(values))
        if kind in ("json", "header"):
            if isinstance(arg, str):
                return Condition(name=name or f"{kind} {arg}", kind=cast(Any, kind), path=arg)
            j = self.check.mapping(arg, p, ("path", "equals"))
            if "path" not in j:
                self.check.bad(p, "missing path", f"write {kind}: {{path: data.id, equals: 3}}")
                return None
            return Condition(
                name=name
                or f"{kind} {j['path']}" + (f" == {j['equals']!r}" if "equals" in j else ""),
                kind=cast(Any, kind),
                path=str(j["path"]),
                equals=j.get("equals"),
                has_equals="equals" in j,
            )
        if kind == "contains":
            return Condition(name=name or f"contains {arg!r}", kind="contains", text=str(arg))
        if kind == "citations":
            expected = self.check.typed(arg, p, bool, True)
            return Condition(
                name=name or ("has citations" if expected else "no citations"),
                kind="citations",
                expected=expected,
            )
        a = self.check.mapping(arg, p, ("min", "max"))
        low = self.check.typed(a.get("min"), (*p, "min"), int, 0)
        high = self.check.typed(a.get("max"), (*p, "max"), int, None)
        return Condition(name=name or label, kind="answer_length", low=low, high=high)
