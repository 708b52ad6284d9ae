"""Who a request comes from, and who may read the operator's pages (``/metrics``)."""

from __future__ import annotations

import functools
import hmac
import ipaddress
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden

View = Callable[..., HttpResponse]


def client_address(request: HttpRequest) -> str:
    """The client's IP address: the connection's, or, behind ``TRUSTED_PROXY_COUNT`` proxies,
    the address the outermost trusted proxy saw (X-Forwarded-For counted from the right, so
    a client cannot choose it by sending the header itself)."""
    return _forwarded(request.META.get("REMOTE_ADDR", "") or "", request.META.get("HTTP_X_FORWARDED_FOR", ""))


def socket_address(scope: dict[str, Any]) -> str:
    """:func:`client_address` for a WebSocket's ASGI scope."""
    client = scope.get("client") or ("", 0)
    forwarded = b",".join(value for name, value in scope.get("headers", []) if name == b"x-forwarded-for")
    return _forwarded(str(client[0] or ""), forwarded.decode("latin-1"))


def _forwarded(remote: str, forwarded_for: str) -> str:
    proxies: int = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    return hops[-proxies] if len(hops) >= proxies else remote


def _allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(entry, strict=False) for entry in settings.METRICS_ALLOW if entry]


def _address_allowed(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in _allowed_networks())


def _token_matches(request: HttpRequest) -> bool:
    token: str = settings.METRICS_TOKEN
    if not token:
        return False
    scheme, _, offered = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(offered.strip().encode(), token.encode())


def operators_only(view: View) -> View:
    """Serve ``view`` to METRICS_ALLOW's addresses (the connection's own, never a forwarded
    header) or to a request with the bearer token; 403 to anyone else."""

    @functools.wraps(view)
    def guarded(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if _address_allowed(request.META.get("REMOTE_ADDR", "") or "") or _token_matches(request):
            return view(request, *args, **kwargs)
        return HttpResponseForbidden("Forbidden\n", content_type="text/plain")

    return guarded
