"""The profiles loadgen ships: found by bare name, listed, copied into a user's project.

After ``pip install loadgen`` there is no ``profiles/`` folder in the user's working
directory: the wheel carries them inside the package (``loadgen/profiles``, see
pyproject.toml). In a source checkout they are the repository's ``profiles/``. Either way
``loadgen run smoke`` finds them; a path that exists always wins over a packaged name.
"""

from __future__ import annotations

import shutil
from pathlib import Path

__all__ = ["ENV_EXAMPLE", "copy_into", "describe", "directory", "names", "resolve"]

_HERE = Path(__file__).resolve().parent.parent  # the loadgen package

ENV_EXAMPLE = """\
# Copy to .env beside the profiles (never commit .env) and fill in; `loadgen run smoke`
# reads it. Without CHATBOT_URL the profiles run against the built-in target.
# CHATBOT_URL=http://localhost:8000
# CHATBOT_MODEL=my-model
# CHATBOT_API_KEY=
# ADMIN_EMAIL=admin@example.com
# ADMIN_PASSWORD=
"""


def directory() -> Path | None:
    """Where the shipped profiles are: inside the installed package, else the checkout's."""
    for candidate in (_HERE / "profiles", _HERE.parent / "profiles"):
        if candidate.is_dir() and any(candidate.glob("*.yaml")):
            return candidate
    return None


def names() -> list[str]:
    where = directory()
    return sorted(p.stem for p in where.glob("*.yaml")) if where else []


def resolve(name_or_path: str) -> Path:
    """A profile path: the path itself when it exists (or looks like a path), else the
    shipped profile of that name (``smoke`` or ``smoke.yaml``)."""
    path = Path(name_or_path)
    if path.exists() or path.parent != Path("."):
        return path
    where = directory()
    if where is not None and path.suffix in ("", ".yaml", ".yml"):
        shipped = where / (path.stem + ".yaml")
        if shipped.is_file():
            return shipped
    return path


def describe(path: Path, width: int = 88) -> str:
    """The first sentence of a profile's leading comment, cut to ``width``, for ``loadgen
    profiles``."""
    words: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        text = line.strip()
        if not text.startswith("#") or not text.lstrip("#").strip():
            break
        words.append(text.lstrip("#").strip())
    text = " ".join(words)
    end = text.find(". ")
    text = text[: end + 1] if end >= 0 else text
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def copy_into(dest: Path, *, force: bool = False) -> tuple[list[Path], list[Path]]:
    """Copy the shipped profiles and a ``.env.example`` into ``dest``; returns (copied,
    kept): files that exist already are kept unless ``force``."""
    where = directory()
    if where is None:
        raise FileNotFoundError("this installation of loadgen carries no profiles")
    target = dest / "profiles"
    target.mkdir(parents=True, exist_ok=True)
    copied: list[Path] = []
    kept: list[Path] = []
    for source in sorted(where.glob("*.yaml")):
        out = target / source.name
        if out.exists() and not force:
            kept.append(out)
            continue
        shutil.copyfile(source, out)
        copied.append(out)
    env = target / ".env.example"
    if env.exists() and not force:
        kept.append(env)
    else:
        env.write_text(ENV_EXAMPLE, encoding="utf-8")
        copied.append(env)
    return copied, kept
