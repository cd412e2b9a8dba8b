"""The client side of Cognito's SRP-6a login (``USER_SRP_AUTH``), as pure functions.

Written here instead of taken from pycognito/warrant: their ``AWSSRP`` is tied to a
synchronous boto3 client (it would block the event loop on every login), while loadgen needs
only the arithmetic, run in an executor because it costs ~55 ms of CPU per login. The
constants and padding follow AWS's own SDKs (amazon-cognito-identity-js ``AuthenticationHelper``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

__all__ = ["G", "N", "SrpError", "SrpSession", "hkdf", "k_value", "pad_hex", "password_claim"]

N = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E34"
    "04DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6"
    "F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A6916"
    "3FA8FD24CF5F83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C"
    "32905E462E36CE3BE39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA95"
    "6AE515D2261898FA051015728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DBEF0A8AEA7157"
    "5D060C7DB3970F85A6E1E4C7ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864D876"
    "02733EC86A64521F2B18177B200CBBE117577A615D6C770988C0BAD946E208E24FA074E5AB3143DB5BFCE0FD108E"
    "4B82D120A93AD2CAFFFFFFFFFFFFFFFF",
    16,
)
G = 2
_INFO = b"Caldera Derived Key"


class SrpError(ValueError):
    """The server's SRP values are unusable (B ≡ 0 mod N, u = 0, bad salt or secret block)."""


def pad_hex(value: int | str) -> str:
    """Hex of a non-negative number as Cognito hashes it: even length, no leading high bit."""
    text = value if isinstance(value, str) else f"{value:x}"
    if len(text) % 2:
        return "0" + text
    if text[0] in "89abcdefABCDEF":
        return "00" + text
    return text


def _hash_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest().rjust(64, "0")


@cache
def k_value() -> int:
    """SRP-6a's multiplier ``k = H(N | g)`` with Cognito's padding."""
    return int(_hash_hex(bytes.fromhex("00" + f"{N:X}" + "0" + f"{G:x}")), 16)


def hkdf(ikm: bytes, salt: bytes) -> bytes:
    """HKDF-SHA256 with Cognito's fixed info string, 16 bytes of output."""
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    return hmac.new(prk, _INFO + b"\x01", hashlib.sha256).digest()[:16]


def u_value(big_a: int, big_b: int) -> int:
    return int(_hash_hex(bytes.fromhex(pad_hex(big_a) + pad_hex(big_b))), 16)


def x_value(pool_name: str, user_id: str, password: str, salt_hex: str) -> int:
    inner = hashlib.sha256(f"{pool_name}{user_id}:{password}".encode()).hexdigest().rjust(64, "0")
    return int(_hash_hex(bytes.fromhex(pad_hex(salt_hex) + inner)), 16)


def timestamp(now: datetime) -> str:
    """``Tue Nov 3 09:05:07 UTC 2026``: Cognito wants the day without a leading zero."""
    now = now.astimezone(UTC)
    return f"{now:%a %b} {now.day} {now:%H:%M:%S} UTC {now:%Y}"


@dataclass(frozen=True, slots=True)
class SrpSession:
    """The client's ephemeral pair; ``srp_a`` goes in ``AuthParameters.SRP_A``."""

    small_a: int
    big_a: int

    @classmethod
    def new(cls) -> SrpSession:
        while True:
            small_a = secrets.randbits(1024) % N
            big_a = pow(G, small_a, N)
            if big_a % N:
                return cls(small_a, big_a)

    @property
    def srp_a(self) -> str:
        return f"{self.big_a:x}"

    def __repr__(self) -> str:
        return "SrpSession(***)"


def password_claim(
    session: SrpSession,
    *,
    pool_id: str,
    user_id: str,
    password: str,
    salt_hex: str,
    srp_b_hex: str,
    secret_block: str,
    now: datetime | None = None,
) -> dict[str, str]:
    """The ``PASSWORD_VERIFIER`` answer (without USERNAME/SECRET_HASH, which the caller adds)."""
    big_b = int(srp_b_hex, 16)
    if big_b % N == 0:
        raise SrpError("server sent an invalid SRP_B")
    u = u_value(session.big_a, big_b)
    if u == 0:
        raise SrpError("SRP scrambling parameter is zero")
    pool_name = pool_id.split("_", 1)[-1]
    x = x_value(pool_name, user_id, password, salt_hex)
    base = (big_b - k_value() * pow(G, x, N)) % N
    big_s = pow(base, session.small_a + u * x, N)
    key = hkdf(bytes.fromhex(pad_hex(big_s)), bytes.fromhex(pad_hex(u)))
    try:
        block = base64.b64decode(secret_block)
    except (binascii.Error, ValueError):
        raise SrpError("server sent an invalid SECRET_BLOCK") from None
    stamp = timestamp(now or datetime.now(UTC))
    message = pool_name.encode() + user_id.encode() + block + stamp.encode()
    signature = base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()
    return {
        "TIMESTAMP": stamp,
        "PASSWORD_CLAIM_SECRET_BLOCK": secret_block,
        "PASSWORD_CLAIM_SIGNATURE": signature,
    }
