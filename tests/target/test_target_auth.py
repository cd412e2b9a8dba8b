"""Accounts and tokens with a fake clock: expiry without sleeping (no sockets)."""

from __future__ import annotations

import pytest

from loadgen.target.auth import AuthError, AuthStore


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(clock: Clock) -> AuthStore:
    return AuthStore(
        clock,
        token_ttl=60,
        refresh_ttl=600,
        admin_email="admin@example.com",
        admin_password="admin-password",
        api_keys=["key-1"],
    )


def test_admin_is_preset(store: AuthStore) -> None:
    """The configured admin can log in and has the admin role."""
    pair = store.login("admin@example.com", "admin-password")
    assert store.authenticate(pair.access_token).role == "admin"


def test_access_token_expires_at_ttl(store: AuthStore, clock: Clock) -> None:
    """Valid until token_ttl, then 401 token_expired; refresh issues a new pair."""
    store.register("a@example.com", "password-1")
    pair = store.login("a@example.com", "password-1")
    clock.now += 59.9
    assert store.authenticate(pair.access_token).email == "a@example.com"
    clock.now += 0.2
    with pytest.raises(AuthError) as info:
        store.authenticate(pair.access_token)
    assert (info.value.status, info.value.code) == (401, "token_expired")
    assert store.authenticate(store.refresh(pair.refresh_token).access_token)


@pytest.mark.parametrize(
    ("email", "password", "status"),
    [
        ("no-at-sign", "password-1", 422),
        ("b@example.com", "short", 422),
        ("admin@example.com", "password-1", 409),
    ],
    ids=["bad email", "short password", "duplicate"],
)
def test_register_refusals(store: AuthStore, email: str, password: str, status: int) -> None:
    """Registration validates input and refuses duplicates with 409."""
    with pytest.raises(AuthError) as info:
        store.register(email, password)
    assert info.value.status == status


def test_expire_fault_and_logout(store: AuthStore) -> None:
    """``expire`` ends a token now; logout forgets it."""
    token = store.login("admin@example.com", "admin-password").access_token
    store.expire(token)
    with pytest.raises(AuthError, match="expired"):
        store.authenticate(token)
    other = store.login("admin@example.com", "admin-password").access_token
    store.logout(other)
    with pytest.raises(AuthError, match="invalid token"):
        store.authenticate(other)


def test_api_keys_and_sweep(store: AuthStore, clock: Clock) -> None:
    """Static API keys are recognised; sweeping drops expired tokens."""
    assert store.is_api_key("key-1")
    assert not store.is_api_key("nope")
    store.login("admin@example.com", "admin-password")
    clock.now += 10_000
    store.sweep()
    assert store.access == {}
    assert store.refresh_tokens == {}
