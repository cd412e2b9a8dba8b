"""What a test gets from a peer server fixture (a module of its own: conftest is not importable
by name once several test folders have one)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Peer:
    """A running server: where it listens and the model name it answers to."""

    url: str
    model: str
    log: Path
