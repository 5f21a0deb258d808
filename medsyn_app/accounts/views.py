"""Account pages: API tokens, and password reset only where mail is set up."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from medsyn_app.accounts import selectors, services
from medsyn_app.accounts.forms import RevokeForm, TokenForm

PAGE = "accounts/tokens.html"


@require_http_methods(["GET", "POST"])
@login_required
def tokens(request: HttpRequest) -> HttpResponse:
    data = request.POST if request.method == "POST" else None
    form = TokenForm(data, acting=request.user)
    created = None
    if request.method == "POST" and form.is_valid():
        try:
            instance, secret = services.create_token(
                acting=request.user, owner=form.cleaned_data["owner"]
            )
        except services.TokenRefused as exc:
            form.add_error("owner", str(exc))
        else:
            created = {"token": secret, "instance": instance}
    context = {
        "form": form,
        "created": created,
        "tokens": selectors.tokens_for(request.user),
    }
    # The new token is on this response only: never cache it.
    response = render(request, PAGE, context, status=400 if form.errors else 200)
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@login_required
def revoke(request: HttpRequest) -> HttpResponse:
    form = RevokeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Name a token to revoke.")
        return redirect("accounts:tokens")
    try:
        count = services.revoke_token(
            acting=request.user, token_key=form.cleaned_data["token_key"]
        )
    except services.TokenRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, "Token revoked." if count else "No such token (already revoked?)."
        )
    return redirect("accounts:tokens")


@require_http_methods(["GET", "POST"])
def password_reset(request: HttpRequest) -> HttpResponse:
    """Django's reset form where mail can be sent; otherwise, say who can help."""
    if not settings.MEDSYN_PASSWORD_RESET_BY_EMAIL:
        return render(request, "accounts/no_password_reset.html", status=404)
    return auth_views.PasswordResetView.as_view()(request)
