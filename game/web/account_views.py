"""Optional accounts: sign up, sign in, change or reset a password with Django's own views, keeping the seat.

Signing in, signing up and changing a password all rotate the session key
(``login()``, ``update_session_auth_hash()``), and a Player is known by a hash
of that key. Each view therefore notes the session's Player id first (session
data outlives the rotation) and then lets ``identities.identify`` move that
Player, seat and all, to the new key, giving it the account.

A forgotten password is reset by a link mailed to the account's address
(given, optionally, at sign-up). Asking for one answers the same whether or
not an account has that address, sends on a thread of its own
(game/web/mailer.py), and is budgeted per client address so that nobody can
use the site to send mail in bulk. Sign-ups are budgeted per client address
too: each makes a row, and accounts are what a rating farm is made of.
"""

from __future__ import annotations

from typing import Any

from axes.utils import reset as reset_login_failures
from django import forms
from django.contrib.auth import login
from django.contrib.auth.forms import PasswordResetForm, UserCreationForm, UsernameField
from django.contrib.auth.models import User
from django.contrib.auth.views import LoginView, PasswordChangeView, PasswordResetConfirmView, PasswordResetView
from django.core.mail import EmailMessage
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template import loader
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from game.actions import identities
from game.models import UsernameKey, username_key
from game.realtime import budgets
from game.web.access import client_address
from game.web.mailer import mailer


def _keeping_the_seat(request: HttpRequest) -> None:
    """Note the session's Player before its key rotates, so the next identify finds it again."""
    identity = identities.identify(request.session)
    if identity.player_id is not None:
        request.session[identities.PLAYER_SESSION_KEY] = identity.player_id


class SignInView(LoginView):
    """Django's LoginView (it hands ``request`` to authenticate, which django-axes needs), keeping the seat."""

    template_name = "registration/login.html"

    def form_valid(self, form: Any) -> HttpResponse:
        _keeping_the_seat(self.request)
        response = super().form_valid(form)
        identities.identify(self.request.session)  # moves the Player to the new key now
        return response


class ChangePasswordView(PasswordChangeView):
    """Django's PasswordChangeView, keeping the seat across the key rotation it makes."""

    template_name = "registration/password_change_form.html"
    success_url = reverse_lazy("password_change_done")

    def form_valid(self, form: Any) -> HttpResponse:
        _keeping_the_seat(self.request)
        response = super().form_valid(form)
        identities.identify(self.request.session)
        return response


class SignUpForm(UserCreationForm[User]):
    """Django's sign-up form with an optional email address, the one a password reset is mailed to."""

    email = forms.EmailField(
        label="Email (optional)",
        required=False,
        help_text="Only for a link to reset your password if you forget it.",
    )

    class Meta:  # UserCreationForm's, with the address
        model = User
        fields = ("username", "email")
        field_classes = {"username": UsernameField}

    def clean_username(self) -> str:
        """Django's check, and no look-alike of an existing username (game.domain.names: case, NFKC, confusables)."""
        # Django's own check (same name but for case) refuses by noting an error and returning None.
        username: str | None = super().clean_username()
        if username and UsernameKey.objects.filter(key=username_key(username)).exists():
            raise forms.ValidationError(
                "An account with this name, or one that looks the same, already exists: pick another.",
                code="look_alike",
            )
        return username  # type: ignore[return-value]  # None as Django's own returns it, errors noted


class MailedLaterResetForm(PasswordResetForm):
    """Django's reset form, its mail handed to the mail thread instead of sent in the request."""

    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        subject = "".join(loader.render_to_string(subject_template_name, context).splitlines())
        body = loader.render_to_string(email_template_name, context)
        mailer.send(EmailMessage(subject, body, from_email, [to_email]))


class ForgotPasswordView(PasswordResetView):
    """Mail a reset link to the accounts with the address typed; the same answer whether there are any."""

    template_name = "registration/password_reset_form.html"
    subject_template_name = "registration/password_reset_subject.txt"
    email_template_name = "registration/password_reset_email.txt"
    form_class = MailedLaterResetForm
    success_url = reverse_lazy("password_reset_done")

    def form_valid(self, form: Any) -> HttpResponse:
        # Spent whether or not the address has an account, so the refusal tells nothing either.
        if not budgets.spend_blocking("password_resets_per_address", client_address(self.request)):
            form.add_error(None, "Many reset links were asked for from your address lately: try again later.")
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().form_valid(form)


class ChooseNewPasswordView(PasswordResetConfirmView):
    """Django's page behind the mailed link; a new password also lifts the sign-in lockout of that username."""

    template_name = "registration/password_reset_confirm.html"
    success_url = reverse_lazy("password_reset_complete")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        # Whoever reached this page reads the account's mail: the failed sign-ins counted against
        # the username (perhaps someone else's guesses) no longer keep its owner out.
        reset_login_failures(username=form.user.get_username())
        return response


@sensitive_post_parameters("password1", "password2")
@require_http_methods(["GET", "POST"])
def sign_up(request: HttpRequest) -> HttpResponse:
    """Make an account and sign in with it; back to ``next`` (this site only) or the lobby."""
    next_url = request.POST.get("next") or request.GET.get("next") or "/"
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        next_url = "/"
    form = SignUpForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        # Spent only by a form that would make an account: a typo costs nothing.
        if not budgets.spend_blocking("signups_per_address", client_address(request)):
            form.add_error(None, "Many accounts were made from your address lately: try again later.")
            return render(request, "registration/signup.html", {"form": form, "next": next_url}, status=429)
        user = form.save()
        _keeping_the_seat(request)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        identities.identify(request.session)
        return redirect(next_url)
    status = 400 if request.method == "POST" else 200
    return render(request, "registration/signup.html", {"form": form, "next": next_url}, status=status)
