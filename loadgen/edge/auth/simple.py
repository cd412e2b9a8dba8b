"""Static credentials: ``bearer`` (a token in a header) and ``api_key`` (header or query)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from loadgen.core.profile.model import AuthSpec
from loadgen.edge.auth.base import OutgoingRequest, Record

__all__ = ["StaticAuth", "StaticAuthFactory"]


class StaticAuth:
    ready = True

    def __init__(self, spec: AuthSpec) -> None:
        self._spec = spec
        value = f"{spec.scheme} {spec.token}".strip() if spec.scheme else spec.token
        self._header = (spec.header, value)

    async def start(self) -> None:
        return None

    async def prepare(self, request: OutgoingRequest) -> None:
        spec = self._spec
        if spec.query:
            parts = urlsplit(request.url)
            query = [*parse_qsl(parts.query, keep_blank_values=True), (spec.query, spec.token)]
            request.url = urlunsplit(parts._replace(query=urlencode(query)))
        else:
            request.headers[self._header[0]] = self._header[1]

    async def unauthorized(self) -> bool:
        return False  # a static credential cannot get better by retrying

    async def stop(self) -> None:
        return None

    @property
    def token(self) -> str:
        return self._spec.token


class StaticAuthFactory:
    def __init__(self, spec: AuthSpec) -> None:
        self._auth = StaticAuth(spec)

    def for_vu(self, vu_id: int, record: Record) -> StaticAuth:
        return self._auth

    async def aclose(self) -> None:
        return None
