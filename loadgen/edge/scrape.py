"""GET a model server's ``/metrics`` page: one httpx client for every replica of a run.

A failed scrape is a value, never an exception to the caller: ``fetch`` returns the text or
raises ``ScrapeFailed`` with why in words (the transport's ``classify`` maps the foreign
exception once), and the scrape service counts it. Nothing here may stop a run.
"""

from __future__ import annotations

from typing import Any

from loadgen.edge.transport import classify

__all__ = ["ScrapeFailed", "Scraper"]

_MAX_PAGE = 8 << 20  # a metrics page past 8 MiB is not one a scrape should hold


class ScrapeFailed(Exception):
    """One scrape that gave no page: ``str()`` says why (no credentials, no query string)."""


class Scraper:
    """Fetches pages; ``aclose`` when the run ends. Each call is bounded by ``timeout``."""

    def __init__(self, timeout: float, verify: bool | str = True) -> None:
        import httpx

        self._client: Any = httpx.AsyncClient(
            timeout=timeout,
            verify=verify,
            headers={"accept": "text/plain;version=0.0.4"},
            follow_redirects=True,
        )

    async def fetch(self, url: str) -> str:
        """The page's text; ``ScrapeFailed`` when there is none."""
        try:
            response = await self._client.get(url)
        except Exception as exc:
            kind, message = classify(exc, got_response=False)
            raise ScrapeFailed(f"{kind.value}: {message}") from exc
        if response.status_code != 200:
            raise ScrapeFailed(f"http {response.status_code}")
        if len(response.content) > _MAX_PAGE:
            raise ScrapeFailed(f"page of {len(response.content)} bytes is over 8 MiB")
        return str(response.text)

    async def aclose(self) -> None:
        await self._client.aclose()
