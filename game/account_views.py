"""Optional accounts: sign up, sign in and change a password with Django's own views, keeping the seat.

Signing in, signing up and changing a password all rotate the session key
(``login()``, ``update_session_auth_hash()``), and a Player is known by a hash
of that key. Each view therefore notes the session's Player id first (session
data outlives the rotation) and then lets ``services.identify`` move that
Player, seat and all, to the new key, giving it the account.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import login
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.views import LoginView, PasswordChangeView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from . import services


def _keeping_the_seat(request: HttpRequest) -> None:
    """Note the session's Player before its key rotates, so the next identify finds it again."""
    identity = services.identify(request.session)
    if identity.player_id is not None:
        request.session[services.PLAYER_SESSION_KEY] = identity.player_id


class SignInView(LoginView):
    """Django's LoginView (it hands ``request`` to authenticate, which django-axes needs), keeping the seat."""

    template_name = "registration/login.html"

    def form_valid(self, form: Any) -> HttpResponse:
        _keeping_the_seat(self.request)
        response = super().form_valid(form)
        services.identify(self.request.session)  # moves the Player to the new key now
        return response


class ChangePasswordView(PasswordChangeView):
    """Django's PasswordChangeView, keeping the seat across the key rotation it makes."""

    template_name = "registration/password_change_form.html"
    success_url = reverse_lazy("password_change_done")

    def form_valid(self, form: Any) -> HttpResponse:
        _keeping_the_seat(self.request)
        response = super().form_valid(form)
        services.identify(self.request.session)
        return response


@sensitive_post_parameters("password1", "password2")
@require_http_methods(["GET", "POST"])
def sign_up(request: HttpRequest) -> HttpResponse:
    """Make an account and sign in with it; back to ``next`` (this site only) or the lobby."""
    next_url = request.POST.get("next") or request.GET.get("next") or "/"
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        next_url = "/"
    form: UserCreationForm[Any] = UserCreationForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        _keeping_the_seat(request)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        services.identify(request.session)
        return redirect(next_url)
    status = 400 if request.method == "POST" else 200
    return render(request, "registration/signup.html", {"form": form, "next": next_url}, status=status)
