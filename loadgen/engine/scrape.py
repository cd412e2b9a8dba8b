"""Scrape the server's Prometheus pages on the run's clock (``target.metrics``, ``--scrape``).

One scrape of every replica at once, every ``interval`` seconds from the run's start, plus a
last one when the run ends, so the counters' increase covers every request. Each page is
stamped on the result's time axis when it arrived, parsed (``loadgen.core.promtext``) down
to the series the preset names, and kept; the intervals ticker asks for each second's
window (``window``), and the result for the whole run's (``section``). A failed scrape is
counted with its reason and the run goes on. In a split run (``--processes``, ``--ray``,
``--segment``) only part 1 scrapes: one server, scraped once per interval.

Memory stays flat however long the run: per replica only its first scrape, the last one a
window ended on, those not yet in a window, and running sums of its gauges are kept.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from loadgen.core.profile.model import MetricsSpec, TargetSpec
from loadgen.core.promtext import Snapshot, guess_preset, parse, sample_names
from loadgen.core.serverpresets import KEY_LABELS, PRESETS, Series, extra_series
from loadgen.core.serverseries import Replica, combine, replica_window, resolve
from loadgen.engine.clock import Clock

__all__ = ["ScrapeService", "scrape_service"]

_ERRORS_KEPT = 5


class _Replica:
    """One URL's scrapes: what its windows and its whole-run numbers need, nothing more."""

    __slots__ = ("base", "first", "gauges", "pending")

    def __init__(self) -> None:
        self.first: Snapshot | None = None
        self.base: Snapshot | None = None  # the scrape the last window ended on
        self.pending: list[Snapshot] = []  # scrapes not yet in a window
        self.gauges: dict[str, list[float]] = {}  # key → [sum of means × n, n, max, last]

    def add(self, snap: Snapshot) -> None:
        if self.first is None:
            self.first = snap
        self.pending.append(snap)

    def take(self, series: list[Series]) -> Replica:
        """The pending scrapes as one window from ``base``; they become the past."""
        new, self.pending = self.pending, []
        part = replica_window(series, self.base or new[0], new)
        for key, (last, mean, top) in part["gauges"].items():
            acc = self.gauges.setdefault(key, [0.0, 0.0, top, last])
            acc[0] += mean * len(new)
            acc[1] += len(new)
            acc[2] = max(acc[2], top)
            acc[3] = last
        self.base = new[-1]
        return part

    def whole(self, series: list[Series]) -> Replica | None:
        """First scrape to last; gauges over every scrape."""
        if self.first is None or self.base is None:
            return None
        part = replica_window(series, self.first, [self.base])
        part["gauges"] = {k: (a[3], a[0] / a[1], a[2]) for k, a in self.gauges.items() if a[1]}
        return part


def scrape_service(
    target: TargetSpec, base_url: str, clock: Clock, start: float, part: int = 0
) -> ScrapeService | None:
    """The run's scrape service, or None when the profile scrapes nothing or this is not
    the first part (``part``: 0-based) of a split run: every part of ``--processes`` or
    ``--ray`` runs against the same server, so part 1 alone scrapes it, once per interval,
    and the merged result carries its series (scraping it N times would load it N times)."""
    spec = target.metrics
    if spec is None or not spec.urls or part != 0:
        return None
    urls = [f"{base_url}/metrics" if u == "builtin" else u for u in spec.urls]
    return ScrapeService(spec, urls, clock, start, target.verify)


class ScrapeService:
    def __init__(
        self,
        spec: MetricsSpec,
        urls: list[str],
        clock: Clock,
        start: float,
        verify: bool | str = True,
    ) -> None:
        self.verify = verify
        self.spec = spec
        self.urls = urls
        self.clock = clock
        self.start = start  # the run's start on ``clock``: t = 0 on the result's axis
        self.preset = spec.preset
        self.series: list[Series] = []
        self.replicas = [_Replica() for _ in urls]
        self.attempts = 0
        self.failures = 0
        self.errors: list[str] = []
        self._failed_mark = 0
        self._scraper: Any = None

    async def run(self) -> None:
        """Scrape now and every interval after, until cancelled."""
        due = self.clock.now()
        while True:
            await self.scrape_all()
            due += self.spec.interval
            await self.clock.sleep_until(max(due, self.clock.now()))

    async def final(self) -> None:
        """The run's last scrape (then the client is closed); never raises."""
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.scrape_all(), self._timeout() + 1)
        if self._scraper is not None:
            with contextlib.suppress(Exception):
                await self._scraper.aclose()
            self._scraper = None

    def _timeout(self) -> float:
        return max(0.5, min(self.spec.interval, 5.0))

    async def scrape_all(self) -> None:
        if self._scraper is None:
            from loadgen.edge.scrape import Scraper

            self._scraper = Scraper(self._timeout(), self.verify)
        await asyncio.gather(*(self._scrape(i, url) for i, url in enumerate(self.urls)))

    async def _scrape(self, index: int, url: str) -> None:
        from loadgen.edge.scrape import ScrapeFailed

        self.attempts += 1
        try:
            text = await self._scraper.fetch(url)
            t = round(self.clock.now() - self.start, 3)
            if self.preset is None:
                self.preset = guess_preset(sample_names(text))
            if not self.series:
                self.series = list(PRESETS[self.preset])
            keep = [n for s in self._wanted() for n in s.names()]
            snap = parse(text, t, keep)
        except (ScrapeFailed, ValueError) as exc:
            self._failed(f"{url}: {exc}")
            return
        except Exception as exc:  # a scrape never stops the run, whatever broke
            self._failed(f"{url}: {type(exc).__name__}: {exc}")
            return
        self.replicas[index].add(snap)

    def _wanted(self) -> list[Series]:
        extras = [extra_series(n, None) for n in self.spec.series]
        return [*self.series, *extras]

    def _failed(self, why: str) -> None:
        why = " ".join(why.split())[:300]  # one line: a parser's message may hold the page
        self.failures += 1
        if why not in self.errors:
            self.errors = [*self.errors, why][-_ERRORS_KEPT:]

    def _resolved(self, snap: Snapshot) -> list[Series]:
        from loadgen.core.promtext import base_name

        extras = [extra_series(n, snap.types.get(base_name(n))) for n in self.spec.series]
        return resolve([*self.series, *extras], snap)

    def window(self) -> dict[str, Any] | None:
        """The scrapes since the last call as one window (an interval record's ``server``)."""
        parts = []
        series: list[Series] = []
        count = 0
        for rep in self.replicas:
            if rep.pending:
                count += len(rep.pending)
                series = self._resolved(rep.pending[-1])
                parts.append(rep.take(series))
        failures, self._failed_mark = self.failures - self._failed_mark, self.failures
        if not parts and not failures:
            return None
        out: dict[str, Any] = {"scrapes": count, "failures": failures}
        if parts:
            out |= combine(parts, series)
        return out

    def section(self) -> dict[str, Any]:
        """The result's ``server`` section: what was scraped, and the whole run's window."""
        parts, series = [], []
        for rep in self.replicas:
            if rep.pending:  # a last scrape no interval took (the run's end was too short)
                rep.take(self._resolved(rep.pending[-1]))
            if rep.base is not None:
                series = self._resolved(rep.base)
                whole = rep.whole(series)
                if whole is not None:
                    parts.append(whole)
        found = {s.key for s in series}
        return {
            "preset": self.preset or "generic",
            "urls": self.urls,
            "interval": self.spec.interval,
            "scrapes": self.attempts - self.failures,
            "failures": self.failures,
            "errors": self.errors,
            "series": {
                s.key: {"metric": s.metric, "kind": s.kind, "label": KEY_LABELS.get(s.key, s.key)}
                for s in series
            },
            "missing": sorted({s.key for s in self.series} - found),
            "run": combine(parts, series) if parts else None,
        }
