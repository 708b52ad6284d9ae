"""Whose failed sign-ins lock whom out: django-axes' ``AXES_LOCKOUT_PARAMETERS``, per page.

A player's sign-in (``/accounts/login/``) is locked for a username *and* an
address together: a stranger's wrong passwords for alice lock only the
stranger's address out of alice's account, never alice from her own
address. The admin's sign-in (``/admin/``) keeps a stricter rule: an address
whose failed sign-ins reach the limit, whatever usernames it tried and on
either page, may not sign in to the admin at all until the cool-off ends.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

ADMIN_PREFIX = "/admin/"
# django-axes' lists: each entry is counted on its own; a list inside is one combination.
PLAYER_RULE: list[str | list[str]] = [["username", "ip_address"]]
ADMIN_RULE: list[str | list[str]] = ["ip_address"]


def lockout_parameters(
    request_or_attempt: HttpRequest | Any, credentials: dict[str, Any] | None = None
) -> list[str | list[str]]:
    """The rule for a sign-in at this request's path (an axes AccessAttempt has a ``path_info`` too)."""
    path = getattr(request_or_attempt, "path_info", None) or ""
    return ADMIN_RULE if path.startswith(ADMIN_PREFIX) else PLAYER_RULE
