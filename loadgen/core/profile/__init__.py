"""Profiles: YAML files → a validated, typed ``Profile``.

``load_profile(path)`` reads the file (expanding ``${VAR}`` from the environment and a ``.env``
beside it), applies ``--set key.path=value`` overrides, validates everything and returns the
model, or raises ``ProfileError`` listing every problem as ``file:line: field: what — fix``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from loadgen.core import packaged
from loadgen.core.errors import ProfileError
from loadgen.core.profile.build import Builder
from loadgen.core.profile.model import (
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
from loadgen.core.profile.overrides import apply_sets, scale_load
from loadgen.core.profile.source import Lines, load_source, source_from_text
from loadgen.core.redact import is_secret_key, secrets_in

__all__ = [
    "ChatTask",
    "DataPools",
    "HttpTask",
    "Load",
    "Profile",
    "ReportSpec",
    "Stage",
    "TargetSpec",
    "Task",
    "ThinkTime",
    "UserClass",
    "apply_sets",
    "load_profile",
    "profile_from_dict",
    "scale_load",
]


def load_profile(
    path: str | Path, *, sets: Sequence[str] = (), env: Mapping[str, str] | None = None
) -> Profile:
    """Read, expand, override and validate a profile file (or a shipped profile by name:
    ``load_profile("smoke")``, as on the command line)."""
    path = packaged.resolve(str(path))
    source = load_source(path, env)
    data = apply_sets(source.data, sets)
    return _build(data, source.lines, path.parent, path, source.secrets)


def profile_from_dict(
    data: Mapping[str, Any], *, base_dir: str | Path = ".", name: str = "<dict>"
) -> Profile:
    """Build a profile from Python data (for embedding); lines are unknown, fields are exact."""
    text = yaml.safe_dump(dict(data), sort_keys=False)
    source = source_from_text(text, name, {})
    return _build(source.data, source.lines, Path(base_dir), None, source.secrets)


def _build(
    data: Any, lines: Lines, base_dir: Path, path: Path | None, secrets: frozenset[str]
) -> Profile:
    builder = Builder(lines, base_dir)
    default_name = path.stem if path else "profile"
    profile = builder.profile(data, path, default_name)
    if profile is None:
        raise ProfileError(builder.problems)
    from dataclasses import replace

    return replace(profile, secrets=secrets | known_secrets(profile))


def known_secrets(profile: Profile) -> frozenset[str]:
    """Every secret value the profile itself holds: under secret-named keys, in URLs'
    userinfo and query strings, in secret-named or ``secret: true`` vars that need no
    rendering, and in the CSV rows' secret columns (templates are registered by each VU)."""
    found = secrets_in(profile.raw)
    for cls in profile.users:
        for name, template in cls.vars.items():
            if (name in cls.secret_vars or is_secret_key(name)) and "{{" not in template:
                found.add(template)
    rows = profile.data.rows
    columns = {c for c in (rows[0] if rows else ()) if is_secret_key(c)}
    for row in rows:
        found |= {row[c] for c in columns | profile.data.secret_columns if row.get(c)}
    return frozenset(s for s in found if len(s) >= 3)
