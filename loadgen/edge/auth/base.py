"""The auth seam between the engine and each auth kind (see the package docstring)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from loadgen.core.sample import Sample

__all__ = ["AuthFactory", "NoAuth", "OutgoingRequest", "Record", "VUAuth"]

Record = Callable[[Sample], None]


@dataclass(slots=True)
class OutgoingRequest:
    """A request about to be sent. ``url`` is absolute and exactly what goes on the wire
    (SigV4 signs it byte for byte); ``prepare`` may change ``headers`` and ``url``."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None


class VUAuth(Protocol):
    async def start(self) -> None:
        """Log in (or load credentials). Failures are recorded, not raised; the VU backs off."""

    @property
    def ready(self) -> bool:
        """False while the VU has no valid credentials (after a failed login)."""

    async def prepare(self, request: OutgoingRequest) -> None:
        """Add credentials to the request; refresh first when they are about to expire."""

    async def unauthorized(self) -> bool:
        """A 401 arrived: refresh or log in again; True when a single retry makes sense."""

    async def stop(self) -> None:
        """Log out when the VU leaves."""


class AuthFactory(Protocol):
    def for_vu(self, vu_id: int, record: Record) -> VUAuth:
        """The auth state of VU ``vu_id`` (1-based); ``record`` takes login/refresh samples."""

    async def aclose(self) -> None:
        """Release shared clients (AWS sessions, connection pools)."""


class NoAuth:
    """``auth.kind: none``."""

    ready = True

    async def start(self) -> None:
        return None

    async def prepare(self, request: OutgoingRequest) -> None:
        return None

    async def unauthorized(self) -> bool:
        return False

    async def stop(self) -> None:
        return None
