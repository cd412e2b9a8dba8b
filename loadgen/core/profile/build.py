"""Validate expanded profile data and build the typed ``Profile``.

Every problem is collected (not just the first) with its file, line, field and a fix, as k6's
``Validate() []error`` does; the caller raises one ``ProfileError`` holding them all.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from loadgen.core import extras
from loadgen.core.aws.config import AwsConfig
from loadgen.core.breakpoint import BreakpointSpec
from loadgen.core.profile import loadspec, sections, targetspec
from loadgen.core.profile.authspec import auth_spec
from loadgen.core.profile.chatspec import streamless_limits
from loadgen.core.profile.checker import Checker
from loadgen.core.profile.model import AuthSpec, Profile, Task, UserClass
from loadgen.core.profile.replayspec import replay_fits
from loadgen.core.profile.source import Lines, Path_
from loadgen.core.profile.users import user_classes
from loadgen.core.slo import Slo

__all__ = ["Builder"]

_TOP_KEYS = (
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
)


class Builder:
    """Walks the data once; ``problems`` holds what is wrong when it returns None."""

    def __init__(self, lines: Lines, base_dir: Path) -> None:
        self.check = Checker(lines, base_dir)
        self.problems = self.check.problems

    def profile(self, data: Any, path: Path | None, default_name: str) -> Profile | None:
        check = self.check
        top = check.mapping(data, (), _TOP_KEYS)
        name = check.typed(top.get("name"), ("name",), str, default_name)
        target = targetspec.target(check, top.get("target"), ("target",))
        pools = sections.data(check, top.get("data"), ("data",))
        if "users" not in top:
            check.bad((), "missing 'users'", "add users: a list of user classes with tasks")
        users = user_classes(check, top.get("users"), ("users",), pools)
        if "load" not in top:
            check.bad((), "missing 'load'", "add load: {stages: [{duration: 30s, users: 5}]}")
        load = loadspec.load(check, top.get("load"), ("load",), plan="breakpoint" not in top)
        seed = check.typed(top.get("seed"), ("seed",), int, None)
        report = sections.report_spec(check, top.get("report"), ("report",))
        thresholds = sections.thresholds(check, top.get("thresholds"), ("thresholds",))
        auth = auth_spec(check, top.get("auth"), ("auth",))
        slo = sections.slo(check, top.get("slo"), ("slo",))
        aws = sections.aws(check, top["aws"], ("aws",)) if "aws" in top else None
        self.aws_needed(users, aws)
        self.extras_needed(top, auth, target)
        bp = (
            loadspec.breakpoint(check, top["breakpoint"], ("breakpoint",), load)
            if "breakpoint" in top
            else None
        )
        self.slo_fits(bp, slo)
        replay_fits(check, users, load, breakpoint="breakpoint" in top)
        streamless_limits(check, users, thresholds, slo)
        if check.problems or target is None:
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

    def aws_needed(self, users: tuple[UserClass, ...], aws: AwsConfig | None) -> None:
        """Bedrock chats need the aws section (its region and credentials)."""
        if aws is None and _uses_bedrock(users):
            self.check.bad(
                (),
                "chat api bedrock needs an aws section",
                "add aws: {region: us-east-1} (credentials come from the usual AWS chain)",
            )

    def slo_fits(self, bp: BreakpointSpec | None, slo: Slo) -> None:
        """A breakpoint search needs SLOs to judge its steps, and no SLO gate."""
        if bp is not None and not slo.declared:
            self.check.bad(
                ("breakpoint",),
                "a breakpoint search needs SLOs to decide what is broken",
                "add slo: {ttft_p95: 2s, error_rate: 5%}",
            )
        if bp is not None and slo.gate:
            self.check.bad(
                ("slo", "gate"),
                "a breakpoint search goes past its SLOs on purpose: they judge its steps, "
                "and its verdict is the search's answer",
                "drop slo.gate; set breakpoint.require_at_least to fail below a level",
            )

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
                self.check.bad(
                    path,
                    f"{what} needs the {extra} extra ({module} is not installed)",
                    extras.install_hint(extra),
                )


def _uses_bedrock(users: tuple[UserClass, ...]) -> bool:
    def walk(tasks: tuple[Task, ...]) -> bool:
        return any((t.chat is not None and t.chat.api == "bedrock") or walk(t.group) for t in tasks)

    return any(walk(u.tasks + u.journey + u.on_start + u.on_stop) for u in users)
