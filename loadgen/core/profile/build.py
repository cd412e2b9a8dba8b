"""Validate expanded profile data and build the typed ``Profile``.

Every problem is collected (not just the first) with its file, line, field and a fix, as k6's
``Validate() []error`` does; the caller raises one ``ProfileError`` holding them all.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from loadgen.core import extras, units
from loadgen.core.aws.config import AwsConfig
from loadgen.core.breakpoint import BreakpointSpec
from loadgen.core.profile.authspec import AuthSection
from loadgen.core.profile.model import (
    AuthSpec,
    DataPools,
    Load,
    Profile,
    ReportSpec,
    Stage,
    TargetSpec,
    Task,
    UserClass,
)
from loadgen.core.profile.source import Path_
from loadgen.core.profile.tasks import TaskSections
from loadgen.core.slo import SLO_KEYS, Slo
from loadgen.core.thresholds import Threshold
from loadgen.core.thresholds import parse as parse_threshold

__all__ = ["Builder"]

_FORMATS = ("json", "html", "csv", "junit", "hlog")


class Builder(TaskSections, AuthSection):
    """Walks the data once; ``problems`` holds what is wrong when it returns None."""

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
                "auth",
                "slo",
                "breakpoint",
                "aws",
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
        load = self.load(top.get("load"), ("load",), plan="breakpoint" not in top)
        seed = self.typed(top.get("seed"), ("seed",), int, None)
        report = self.report_spec(top.get("report"), ("report",))
        thresholds = self.thresholds(top.get("thresholds"), ("thresholds",))
        auth = self.auth_spec(top.get("auth"), ("auth",))
        slo = self.slo(top.get("slo"), ("slo",))
        aws = self.aws(top["aws"], ("aws",)) if "aws" in top else None
        if aws is None and _uses_bedrock(users):
            self.bad(
                (),
                "chat api bedrock needs an aws section",
                "add aws: {region: us-east-1} (credentials come from the usual AWS chain)",
            )
        self.extras_needed(top, auth, target)
        bp = (
            self.breakpoint(top["breakpoint"], ("breakpoint",), load)
            if "breakpoint" in top
            else None
        )
        if bp is not None and not slo.declared:
            self.bad(
                ("breakpoint",),
                "a breakpoint search needs SLOs to decide what is broken",
                "add slo: {ttft_p95: 2s, error_rate: 5%}",
            )
        if bp is not None and slo.gate:
            self.bad(
                ("slo", "gate"),
                "a breakpoint search goes past its SLOs on purpose: they judge its steps, "
                "and its verdict is the search's answer",
                "drop slo.gate; set breakpoint.require_at_least to fail below a level",
            )
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
            auth=auth or AuthSpec(),
            slo=slo,
            breakpoint=bp,
            aws=aws,
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

    def aws(self, value: Any, path: Path_) -> AwsConfig | None:
        """``aws:`` is read by loadgen.core.aws.config (pure): region, CloudWatch, cost."""
        from loadgen.core.aws.config import parse_aws

        if not isinstance(value, Mapping):
            self.bad(path, "expected a mapping", "write aws: {region: us-east-1}")
            return None

        def problem(suffix: tuple[str | int, ...], what: str, fix: str = "") -> None:
            self.bad((*path, *suffix), what, fix)

        return parse_aws(value, problem)

    def extras_needed(self, top: Mapping[str, Any], auth: Any, target: Any) -> None:
        """Refuse now, with the pip line, what would fail mid-run for a missing extra."""
        needs: list[tuple[str, Path_, str]] = []
        if auth is not None and getattr(auth, "kind", None) in ("cognito", "sigv4"):
            needs.append(("aws", ("auth", "kind"), f"auth kind {auth.kind}"))
        if "aws" in top:
            needs.append(("aws", ("aws",), "the aws section (Bedrock, CloudWatch, cost)"))
        if target is not None and target.tokenizer:
            needs.append(("tokenizer", ("target", "tokenizer"), "a tokenizer"))
        for extra, path, what in needs:
            module = extras.missing(extra)
            if module is not None:
                self.bad(
                    path,
                    f"{what} needs the {extra} extra ({module} is not installed)",
                    extras.install_hint(extra),
                )

    def slo(self, value: Any, path: Path_) -> Slo:
        s = self.mapping(value, path, (*SLO_KEYS, "gate"))
        limits: dict[str, float] = {}
        gate = s.pop("gate", False)
        if not isinstance(gate, bool):
            self.bad((*path, "gate"), f"{gate!r} is not true or false", "write gate: true")
            gate = False
        for key, raw in s.items():
            _, _, unit = SLO_KEYS[key]
            if unit == "ms":
                limits[key] = self.unit(raw, (*path, key), units.parse_duration, 0.0) * 1000
            else:
                limits[key] = self.unit(raw, (*path, key), units.parse_percent, 0.0)
        return Slo(**limits, gate=gate)

    def breakpoint(self, value: Any, path: Path_, load: Load) -> BreakpointSpec | None:
        """``{start, step, step_duration, max, warmup, consecutive, refine, require_at_least}``
        in users (closed model) or arrivals per second (open)."""
        b = self.mapping(
            value,
            path,
            (
                "start",
                "step",
                "step_duration",
                "max",
                "warmup",
                "consecutive",
                "refine",
                "require_at_least",
            ),
        )
        closed = load.model == "closed"
        parse = (
            (lambda v: float(int(v)) if isinstance(v, int) else float("nan"))
            if closed
            else units.parse_rate
        )
        missing = [k for k in ("start", "step", "step_duration", "max") if k not in b]
        if missing:
            self.bad(
                path,
                f"missing {', '.join(missing)}",
                "write breakpoint: {start: 10, step: 10, step_duration: 30s, max: 200}",
            )
            return None
        level = {
            k: self.unit(b[k], (*path, k), parse, 0.0) for k in ("start", "step", "max") if k in b
        }
        for k, v in level.items():
            if not v > 0:
                what = "a whole number of users > 0" if closed else "a rate > 0 such as 5/s"
                self.bad((*path, k), f"{b[k]!r} is not {what}")
        duration = self.unit(
            b["step_duration"], (*path, "step_duration"), units.parse_duration, 0.0
        )
        warmup = self.unit(
            b.get("warmup"), (*path, "warmup"), units.parse_duration, min(10.0, duration / 3)
        )
        if duration <= 0 or warmup >= duration:
            self.bad(
                (*path, "warmup"),
                "the warm-up must be shorter than step_duration",
                "each step is judged on the part after its warm-up",
            )
        consecutive = self.typed(b.get("consecutive"), (*path, "consecutive"), int, 1)
        refine = b.get("refine", 0)
        refine = 2 if refine is True else (0 if refine is False else refine)
        if not isinstance(refine, int) or refine < 0:
            self.bad((*path, "refine"), "expected true, false or a number of bisection steps")
            refine = 0
        require = b.get("require_at_least")
        require_level = (
            None if require is None else self.unit(require, (*path, "require_at_least"), parse, 0.0)
        )
        return BreakpointSpec(
            start=level.get("start", 1.0),
            step=level.get("step", 1.0),
            step_duration=duration,
            max=level.get("max", 1.0),
            warmup=warmup,
            consecutive=max(1, consecutive),
            refine=refine,
            require_at_least=require_level,
            integer=closed,
        )

    def _size(self, t: Mapping[str, Any], path: Path_, key: str, default: int) -> int:
        """A byte limit (``max_response_size``, ``max_line``): a size of at least 1 KiB."""
        size = self.unit(t.get(key), (*path, key), units.parse_size, default)
        if size < 1024:
            self.bad((*path, key), f"{size} bytes is too small", "write at least 1KiB, e.g. 1MiB")
            return default
        return size

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
                "retry_after",
                "max_retry_after",
                "max_response_size",
                "max_line",
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
        if isinstance(verify, str):
            self.missing_file(verify, (*path, "verify"))
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
            timeout=self._timeout(t, path, "timeout", 60.0),
            connect_timeout=self._timeout(t, path, "connect_timeout", 10.0),
            verify=verify if isinstance(verify, bool) else str(self.base_dir / verify),
            headers=headers,
            tokenizer=self.typed(t.get("tokenizer"), (*path, "tokenizer"), str, None),
            builtin=dict(builtin),
            transport=transport,
            honor_retry_after=self._retry_after(t.get("retry_after"), (*path, "retry_after")),
            max_retry_after=self.unit(
                t.get("max_retry_after"), (*path, "max_retry_after"), units.parse_duration, 60.0
            ),
            max_response_size=self._size(t, path, "max_response_size", 64 << 20),
            max_line=self._size(t, path, "max_line", 1 << 20),
        )

    def _timeout(self, t: Mapping[str, Any], path: Path_, key: str, default: float) -> float:
        """A timeout of zero would fail every request before it is sent: refuse it."""
        seconds = self.unit(t.get(key), (*path, key), units.parse_duration, default)
        if seconds <= 0:
            self.bad((*path, key), f"{key} must be > 0", f"write a duration such as {default:g}s")
            return default
        return seconds

    def _retry_after(self, value: Any, path: Path_) -> bool:
        if value is None or value == "honor":
            return True
        if value == "ignore":
            return False
        self.bad(
            path,
            f"expected honor or ignore, got {value!r}",
            "honor waits what a 429's Retry-After says before the VU's next request",
        )
        return True

    def data(self, value: Any, path: Path_) -> DataPools:
        """``questions:`` a YAML pool file; ``rows:`` a CSV file, one row per VU in turn."""
        from dataclasses import replace

        from loadgen.core.profile.pools import default_pools, load_pools, load_rows

        d = self.mapping(value, path, ("questions", "rows", "secret"))
        ref = d.get("questions")
        if ref is None:
            pools = default_pools()
        elif not isinstance(ref, str):
            self.bad(
                (*path, "questions"), "expected a file path", "write questions: data/questions.yaml"
            )
            pools = DataPools()
        elif self.missing_file(ref, (*path, "questions")):
            pools = DataPools()
        else:
            pools, problems = load_pools(self.base_dir / ref)
            for p in problems:
                self.problems.append(
                    p if p.line else self.lines.problem((*path, "questions"), p.what, p.fix)
                )
        rows_ref = d.get("rows")
        if rows_ref is not None:
            if not isinstance(rows_ref, str):
                self.bad((*path, "rows"), "expected a CSV file path", "write rows: data/users.csv")
            elif not self.missing_file(rows_ref, (*path, "rows")):
                rows, what = load_rows(self.base_dir / rows_ref)
                if what:
                    self.bad((*path, "rows"), what, "give a CSV file with a header row")
                pools = replace(pools, rows=rows)
        secret = d.get("secret", [])
        if not isinstance(secret, list) or not all(isinstance(c, str) for c in secret):
            self.bad((*path, "secret"), "expected a list of column names", "write secret: [pin]")
        elif pools.rows and (unknown := [c for c in secret if c not in pools.rows[0]]):
            self.bad(
                (*path, "secret"),
                f"no column {unknown[0]!r} in the rows file",
                f"name columns of its header: {', '.join(pools.rows[0])}",
            )
        else:
            pools = replace(pools, secret_columns=frozenset(secret))
        return pools

    def missing_file(self, ref: str, path: Path_) -> bool:
        """True (and a problem naming the path looked at) when a file the profile names is not
        there; paths are relative to the profile's folder, whatever the current directory."""
        resolved = self.base_dir / ref
        if resolved.is_file():
            return False
        self.bad(
            path,
            f"{ref!r} not found: looked for {resolved.resolve()}",
            "a path in a profile is relative to the profile's folder, not to the current "
            "directory; fix it or give an absolute path",
        )
        return True

    def load(self, value: Any, path: Path_, *, plan: bool = True) -> Load:
        """The load plan; with ``plan=False`` (a breakpoint search makes its own steps) only
        the model and its options."""
        known = len(self.problems)
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
                self.bad((*path, "max_in_flight"), "must be > 0", "write max_in_flight: 1000")
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
                    self.bad(p, "users must be ≥ 0", "write a whole number of users")
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
                st = self.mapping(item, p, ("duration", level_key, "name"))
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
                        name=self.typed(st.get("name"), (*p, "name"), str, None),
                    )
                )
            start = 0.0
        else:
            if not plan and level_key not in ld and "duration" not in ld:
                return Load(model=model, graceful_stop=graceful, **extra)
            if level_key not in ld or "duration" not in ld:
                self.bad(
                    path,
                    f"missing stages (or {level_key} + duration)",
                    f"write stages: [{{duration: 30s, {level_key}: 10}}] or "
                    f"{level_key}: 10, duration: 1m",
                )
                return Load(model=model, graceful_stop=graceful, **extra)
            before = len(self.problems)
            peak = level(ld[level_key], (*path, level_key))
            if peak <= 0 and len(self.problems) == before:  # one problem per value
                self.bad(
                    (*path, level_key),
                    f"{level_key} must be > 0",
                    "write users: 10" if level_key == "users" else "write rate: 5/s",
                )
            duration = self.unit(ld["duration"], (*path, "duration"), units.parse_duration, 0.0)
            ramp = self.unit(ld.get("ramp_up"), (*path, "ramp_up"), units.parse_duration, 0.0)
            if ramp > duration:
                self.bad((*path, "ramp_up"), "ramp_up is longer than duration", "shorten it")
            if ramp > 0:
                stages.append(Stage(duration=ramp, target=peak))
            stages.append(Stage(duration=duration - ramp, target=peak))
            start = 0.0 if ramp > 0 else peak
        # A zero total that only follows from a duration already reported is not news.
        if stages and sum(s.duration for s in stages) <= 0 and len(self.problems) == known:
            self.bad((*path, "stages"), "the stages add up to no time", "give a duration > 0")
        elif stages and max(s.target for s in stages) <= 0 and len(self.problems) == known:
            self.bad(
                (*path, "stages"),
                f"no stage has any {level_key}: the run would send nothing",
                f"give at least one stage {level_key} > 0",
            )
        return Load(model=model, stages=tuple(stages), start=start, graceful_stop=graceful, **extra)

    def report_spec(self, value: Any, path: Path_) -> ReportSpec:
        r = self.mapping(value, path, ("dir", "formats", "raw"))
        formats = r.get("formats", ["json", "html"])
        if not isinstance(formats, list) or any(f not in _FORMATS for f in formats):
            self.bad((*path, "formats"), f"expected a list of {', '.join(_FORMATS)}")
            formats = ["json"]
        return ReportSpec(
            dir=self.typed(r.get("dir"), (*path, "dir"), str, "reports"),
            raw=self.typed(r.get("raw"), (*path, "raw"), bool, False),
            formats=tuple(dict.fromkeys(["json", *formats])),
        )


def _uses_bedrock(users: tuple[UserClass, ...]) -> bool:
    def walk(tasks: tuple[Task, ...]) -> bool:
        return any((t.chat is not None and t.chat.api == "bedrock") or walk(t.group) for t in tasks)

    return any(walk(u.tasks + u.journey + u.on_start + u.on_stop) for u in users)
