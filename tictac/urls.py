from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from game.web import account_views

accounts = [
    path("signup/", account_views.sign_up, name="signup"),
    path("login/", account_views.SignInView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", account_views.ChangePasswordView.as_view(), name="password_change"),
    path(
        "password/done/",
        auth_views.PasswordChangeDoneView.as_view(template_name="registration/password_change_done.html"),
        name="password_change_done",
    ),
    # A forgotten password: ask for a link by email, follow it, choose a new password.
    path("password/reset/", account_views.ForgotPasswordView.as_view(), name="password_reset"),
    path(
        "password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="registration/password_reset_done.html"),
        name="password_reset_done",
    ),
    path(
        "password/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(template_name="registration/password_reset_complete.html"),
        name="password_reset_complete",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        account_views.ChooseNewPasswordView.as_view(),
        name="password_reset_confirm",
    ),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include(accounts)),
    path("favicon.ico", RedirectView.as_view(url=static("game/favicon.svg"), permanent=True)),
    path("", include("game.urls")),
]
