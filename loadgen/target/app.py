"""The target's state and request routing: one ``App`` per server process.

Holds the seeded RNG (every draw of timing, length and faults comes from it, in request
order), the capacity slots, the stores and the optional truth log, and maps a parsed
request to its route handler. Handlers live in ``routes_chat``, ``routes_api`` and ``ws``.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections.abc import Callable
from typing import Any

from loadgen.target.auth import AuthError, AuthStore
from loadgen.target.capacity import Slots
from loadgen.target.config import TargetConfig
from loadgen.target.encode import Encoded
from loadgen.target.faults import FaultPicker, parse_fault_header
from loadgen.target.generation import Generation
from loadgen.target.http import HttpConnection, Request
from loadgen.target.jwtauth import jwt_verifier
from loadgen.target.metrics import Metrics
from loadgen.target.prefill import PrefixCache, PromptTokens
from loadgen.target.promexpo import VllmMetrics
from loadgen.target.sinks import error_body
from loadgen.target.store import Cache, Conversations, Documents, FeatureFlags
from loadgen.target.truth import TruthLog, truth_record

__all__ = ["App", "Handler"]

Handler = Callable[["App", HttpConnection, Request], None]
log = logging.getLogger("loadgen.target")


class App:
    """Shared state of one target process."""

    def __init__(self, config: TargetConfig, loop: asyncio.AbstractEventLoop) -> None:
        self.config = config
        self.loop = loop
        self.rng = random.Random(config.seed)
        self.enc = Encoded(config.seed)
        self.truth = TruthLog(config.truth) if config.truth else None
        cap = config.capacity
        self.slots: Slots[Generation] = Slots(cap.slots, cap.contention, cap.max_queue)
        self.metrics = Metrics()
        self.vllm = VllmMetrics()  # vLLM's names on /metrics (docs/server-metrics.md)
        self.faults = FaultPicker(config.faults.rates())
        timing = config.timing
        self.itl = timing.itl
        self.itl_const = timing.itl.fixed()
        self.itl_zero = self.itl_const == 0
        self.ttft_const = timing.ttft.fixed()
        self.tokens_const = timing.output_tokens.fixed()
        a = config.auth
        self.auth = AuthStore(
            time.monotonic,
            token_ttl=a.token_ttl,
            refresh_ttl=a.refresh_ttl,
            admin_email=a.admin_email,
            admin_password=a.admin_password,
            api_keys=a.api_keys,
            jwt=jwt_verifier(a),
        )
        self.conversations = Conversations()
        self.documents = Documents()
        self.flags = FeatureFlags()
        self.cache = Cache()
        self.prompts = PromptTokens()
        pc = config.prefix_cache
        self.prefix_cache = PrefixCache(pc.block_tokens, pc.capacity_blocks) if pc.enabled else None
        self.connections: set[HttpConnection] = set()
        self.started = time.monotonic()
        self.ids = 0
        self.routes: dict[bytes, Handler] = {}
        self.prefixes: list[tuple[bytes, Handler]] = []
        self.upgrade: Callable[[HttpConnection, Request, bytes], None] = _no_upgrade

    # draws, in a fixed order per request so a seed reproduces a run

    def next_id(self) -> str:
        self.ids += 1
        return f"req-{self.ids}"

    def request_id(self, req: Request) -> str:
        return req.header(b"x-request-id") or self.next_id()

    def pick_fault(self, forced: str | None) -> str | None:
        """Header value (already read) wins; else a seeded draw. ValueError if unknown."""
        if forced is not None:
            return parse_fault_header(forced)
        return self.faults.pick(self.rng)

    def sample_tokens(
        self, max_tokens: int | None, min_tokens: int | None = None, ignore_eos: bool = False
    ) -> tuple[int, bool]:
        """(tokens, capped): length drawn from the config, capped by ``max_tokens``.

        As vLLM does: ``ignore_eos`` generates up to ``max_tokens`` whatever the model would
        say, ``min_tokens`` holds the end back until that many came."""
        fixed = self.tokens_const
        n = (
            max(1, round(fixed))
            if fixed is not None
            else self.config.timing.output_tokens.sample_count(self.rng)
        )
        if ignore_eos and max_tokens is not None:
            n = max_tokens
        if min_tokens is not None:
            n = max(n, min_tokens)
        if max_tokens is not None and n >= max_tokens:
            return max_tokens, n > max_tokens or ignore_eos
        return n, False

    def sample_ttft(self, prefill_tokens: int) -> float:
        """A TTFT draw plus the prefill of ``prefill_tokens`` (prompt tokens not cached)."""
        fixed = self.ttft_const
        ttft = fixed if fixed is not None else self.config.timing.ttft.sample(self.rng)
        per_token = self.config.timing.prefill_per_token
        return ttft + per_token * prefill_tokens if per_token else ttft

    # routing

    def route(self, path: str, handler: Handler) -> None:
        if path.endswith("/{id}"):
            self.prefixes.append((path[:-4].encode(), handler))
        else:
            self.routes[path.encode()] = handler

    def dispatch(self, conn: HttpConnection, req: Request) -> None:
        handler = self.routes.get(req.path)
        if handler is None:
            for prefix, candidate in self.prefixes:
                if req.path.startswith(prefix) and len(req.path) > len(prefix):
                    handler = candidate
                    break
            else:
                self.answer(conn, req, "other", 404, {"detail": "not found", "code": "not_found"})
                return
        try:
            handler(self, conn, req)
        except Exception:
            log.exception("handler failed for %s", req.path)
            if conn.busy and not conn.closed:
                self.answer(conn, req, "other", 500, {"detail": "internal error"})

    # answers that are not generations

    def answer(
        self,
        conn: HttpConnection,
        req: Request,
        route: str,
        status: int,
        obj: Any,
        extra: bytes = b"",
        fault: str | None = None,
        body: bytes | None = None,
        content_type: bytes | None = None,
    ) -> None:
        """Write a whole response, count it, and log its truth line."""
        if body is None:
            nbytes = conn.respond_json(req, status, obj, extra)
        else:
            nbytes = conn.respond(req, status, body, content_type or b"application/json", extra)
        self.count(req, route, status, nbytes, fault)

    def count(
        self,
        req: Request,
        route: str,
        status: int,
        nbytes: int,
        fault: str | None,
        rid: str | None = None,
    ) -> None:
        self.metrics.requests[route, status] += 1
        if fault is not None:
            self.metrics.faults[fault] += 1
        if self.truth is not None:
            now = time.monotonic()
            self.truth.add(
                truth_record(
                    id=rid or self.request_id(req),
                    route=route,
                    arrival=req.arrival,
                    wall=req.wall,
                    first_token=None,
                    tokens=[],
                    end=now,
                    bytes=nbytes,
                    status=status,
                    fault=fault,
                    queue_wait=0.0,
                )
            )

    def fault_answer(
        self, conn: HttpConnection, req: Request, route: str, fault: str, openai: bool, rid: str
    ) -> None:
        """Answer an error-status fault (500, 503, 429 with Retry-After, expired token)."""
        extra = b""
        if fault == "http_500":
            status, code, message = 500, "internal_error", "injected internal server error"
        elif fault == "http_503":
            status, code, message = 503, "unavailable", "injected: service unavailable"
        elif fault == "http_429":
            status, code, message = 429, "rate_limited", "injected: rate limit exceeded"
            retry = max(0, math.ceil(self.config.faults.retry_after))
            extra = b"retry-after: %d\r\n" % retry
        else:
            self.auth.expire(req.bearer())
            status, code, message = 401, "token_expired", "token expired"
        body = error_body(openai, status, code, message)
        nbytes = conn.respond(req, status, body, extra=extra)
        self.count(req, route, status, nbytes, fault, rid)

    def authenticate(
        self, conn: HttpConnection, req: Request, route: str, admin: bool = False
    ) -> Any:
        """The user, or None after answering 401/403 (the handler must then return)."""
        try:
            user = self.auth.authenticate(req.bearer())
        except AuthError as exc:
            self.answer(
                conn,
                req,
                route,
                exc.status,
                {"detail": exc.detail, "code": exc.code},
                extra=b"www-authenticate: Bearer\r\n",
            )
            return None
        if admin and user.role != "admin":
            self.answer(
                conn, req, route, 403, {"detail": "admin role required", "code": "forbidden"}
            )
            return None
        return user

    def gauges(self) -> dict[str, tuple[str, float]]:
        return {
            "loadgen_target_active_streams": ("Generations holding a slot.", self.slots.active),
            "loadgen_target_queue_depth": ("Requests waiting for a slot.", len(self.slots.queue)),
            "loadgen_target_slots": ("Configured slots (0 = unlimited).", self.slots.slots),
            "loadgen_target_connections": ("Open client connections.", len(self.connections)),
            "loadgen_target_uptime_seconds": (
                "Seconds since start.",
                time.monotonic() - self.started,
            ),
        }


def _no_upgrade(conn: HttpConnection, req: Request, rest: bytes) -> None:
    conn.respond(req, 404, b'{"detail": "not found"}', keep_alive=False)
