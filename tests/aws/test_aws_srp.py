"""SRP-6a client math checked by a test-side verifier (moto does not check SRP proofs)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import UTC, datetime

import pytest

from loadgen.core.aws import srp

POOL = "us-east-1_AbCdEf123"
USER = "lt-1"
SALT = "8f3a1c"  # an odd-length hex exercises the padding


def server_verify(
    session: srp.SrpSession, claim: dict[str, str], password: str, block: str
) -> bool:
    """What Cognito does: v = g^x from the stored password, S = (A·v^u)^b, check the HMAC."""
    x = srp.x_value(POOL.split("_")[1], USER, password, SALT)
    v = pow(srp.G, x, srp.N)
    return _check(session, claim, v, block)


_B_SECRET = secrets.randbits(1024)


def server_b(verifier_password: str) -> int:
    v = pow(srp.G, srp.x_value(POOL.split("_")[1], USER, verifier_password, SALT), srp.N)
    return (srp.k_value() * v + pow(srp.G, _B_SECRET, srp.N)) % srp.N


def _check(session: srp.SrpSession, claim: dict[str, str], v: int, block: str) -> bool:
    big_b = (srp.k_value() * v + pow(srp.G, _B_SECRET, srp.N)) % srp.N
    u = srp.u_value(session.big_a, big_b)
    big_s = pow(session.big_a * pow(v, u, srp.N), _B_SECRET, srp.N)
    key = srp.hkdf(bytes.fromhex(srp.pad_hex(big_s)), bytes.fromhex(srp.pad_hex(u)))
    message = (
        POOL.split("_")[1].encode()
        + USER.encode()
        + base64.b64decode(block)
        + claim["TIMESTAMP"].encode()
    )
    expected = base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected, claim["PASSWORD_CLAIM_SIGNATURE"])


def claim_for(session: srp.SrpSession, password: str, stored: str, block: str) -> dict[str, str]:
    return srp.password_claim(
        session,
        pool_id=POOL,
        user_id=USER,
        password=password,
        salt_hex=SALT,
        srp_b_hex=f"{server_b(stored):x}",
        secret_block=block,
    )


@pytest.mark.parametrize(
    ("typed", "accepted"),
    [
        pytest.param("right-Passw0rd", True, id="the right password is accepted"),
        pytest.param("wrong-Passw0rd", False, id="a wrong password is refused"),
    ],
)
def test_password_claim_verifies_only_with_the_right_password(typed: str, accepted: bool) -> None:
    """The server, knowing only the verifier of 'right-Passw0rd', accepts exactly that one."""
    block = base64.b64encode(secrets.token_bytes(64)).decode()
    session = srp.SrpSession.new()
    claim = claim_for(session, typed, "right-Passw0rd", block)
    assert claim["PASSWORD_CLAIM_SECRET_BLOCK"] == block
    assert server_verify(session, claim, "right-Passw0rd", block) is accepted


@pytest.mark.parametrize(
    ("value", "padded"),
    [
        pytest.param("abc", "0abc", id="odd length gets one zero"),
        pytest.param("8a", "008a", id="a high first nibble gets a zero byte"),
        pytest.param("7a", "7a", id="even and low is kept"),
        pytest.param(0x8A, "008a", id="ints are padded the same way"),
    ],
)
def test_pad_hex(value: int | str, padded: str) -> None:
    """Cognito hashes big numbers as signed, even-length hex."""
    assert srp.pad_hex(value) == padded


def test_timestamp_has_no_leading_zero_on_the_day() -> None:
    """Cognito rejects 'Nov 03'; it wants 'Nov 3'."""
    stamp = srp.timestamp(datetime(2026, 11, 3, 9, 5, 7, tzinfo=UTC))
    assert stamp == "Tue Nov 3 09:05:07 UTC 2026"


def test_a_zero_b_is_refused() -> None:
    """B ≡ 0 (mod N) would make the key predictable: the client stops."""
    with pytest.raises(srp.SrpError):
        srp.password_claim(
            srp.SrpSession.new(),
            pool_id=POOL,
            user_id=USER,
            password="x",
            salt_hex=SALT,
            srp_b_hex=f"{srp.N:x}",
            secret_block="AAAA",
        )
    assert "***" in repr(srp.SrpSession.new())
