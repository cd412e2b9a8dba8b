"""Authentication of virtual users: one ``VUAuth`` per VU, made by the profile's ``AuthFactory``.

Kinds: ``none``, ``bearer``, ``api_key``, ``login`` (loadgen.edge.auth.login), ``cognito``
and ``sigv4`` (loadgen.edge.aws). The engine calls ``start`` before a VU's first task,
``prepare`` on every request (add headers, sign, refresh before expiry), ``unauthorized``
after a 401 (refresh; True means retry once) and ``stop`` when the VU leaves (logout).
Requests an auth kind makes itself (logins, refreshes) are recorded as samples through the
``record`` callback like any other.
"""

from loadgen.edge.auth.base import AuthFactory, OutgoingRequest, VUAuth

__all__ = ["AuthFactory", "OutgoingRequest", "VUAuth"]
