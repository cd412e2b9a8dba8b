"""When a VU abandons an answer (a chat's ``cancel:``), as a user pressing "stop" would.

Pure: the profile's ``Cancel`` says how often and when; ``Cancel.draw`` decides, with the
VU's seeded generator, whether one request is abandoned. The edge closes the stream at that
point (``loadgen.edge.cancelling``): an HTTP/1.1 stream cannot be stopped otherwise, so the
connection is closed and the VU opens a new one for its next request.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["Cancel"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Cancel:
    """``rate`` of the requests are abandoned: after ``tokens`` content events, ``time``
    seconds after the request was sent, or (``before_first_token``) as soon as the response
    starts, before any content is read. Exactly one of the three is set."""

    rate: float
    tokens: int | None = None
    time: float | None = None
    before_first_token: bool = False

    def draw(self, rng: random.Random) -> bool:
        """Whether the next request is abandoned (one draw per request, seeded)."""
        return self.rate >= 1.0 or (self.rate > 0.0 and rng.random() < self.rate)
