"""Sign-in (password, then TOTP or first enrolment), sign-out, step-up and role choice.

Thin views: they parse forms, call services and render. They work without JavaScript.
Between the password and the second factor nobody is signed in: the session only holds
who passed the first step and when (``session_keys.PENDING_*``), for a few minutes.
"""

from __future__ import annotations

import time
from base64 import b32encode
from typing import Any
from urllib.parse import urlencode

import segno
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_otp.plugins.otp_totp.models import TOTPDevice

from himaya.accounts import selectors, services, session_keys, throttle
from himaya.accounts.actors import acting_membership, actor_from_request, is_otp_verified
from himaya.accounts.errors import CodeInvalid, CredentialsInvalid, LoginLocked
from himaya.accounts.forms import ChooseMembershipForm, CodeForm, LoginForm
from himaya.accounts.models import User
from himaya.core.errors import HimayaError

#: How long the second step may follow the password step.
PENDING_SECONDS = 300

_NOTICES = {
    "expired": _("Your session expired. Please sign in again."),
    "signed_out": _("You have signed out."),
    "restart": _("Please sign in again."),
    "pending_expired": _("Signing in took too long. Please start again."),
}


_SIGN_IN_URL_NAMES = ("login", "login_otp", "enrol", "logout")


def _notice_text(code: object) -> str | None:
    if code == "locked":
        return str(LoginLocked.default_message % {"minutes": throttle.lockout_minutes()})
    text = _NOTICES.get(str(code)) if code else None
    return str(text) if text is not None else None


def _safe_next(request: HttpRequest, candidate: object) -> str:
    """Only a path on this site; never back to the sign-in pages themselves."""
    if not isinstance(candidate, str) or not candidate.startswith("/"):
        return ""
    if not url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return ""
    sign_in_pages = {reverse(f"accounts:{name}") for name in _SIGN_IN_URL_NAMES}
    if candidate.split("?", 1)[0] in sign_in_pages:
        return ""
    return candidate


def _signed_in(request: HttpRequest) -> bool:
    user = request.user
    return bool(user.is_authenticated and is_otp_verified(user))


def _pending_user(request: HttpRequest) -> User | None:
    user_id = request.session.get(session_keys.PENDING_USER_ID)
    started = request.session.get(session_keys.PENDING_AT)
    if user_id is None:
        return None
    if not isinstance(started, int | float) or time.time() - started > PENDING_SECONDS:
        _clear_pending(request)
        request.session[session_keys.NOTICE] = "pending_expired"
        return None
    return User.objects.filter(pk=user_id, is_active=True).first()


def _clear_pending(request: HttpRequest) -> None:
    for key in (session_keys.PENDING_USER_ID, session_keys.PENDING_AT, session_keys.PENDING_NEXT):
        request.session.pop(key, None)


def _restart(request: HttpRequest, notice: str | None = None) -> HttpResponse:
    _clear_pending(request)
    if notice:
        request.session[session_keys.NOTICE] = notice
    return redirect("accounts:login")


def _after_sign_in(request: HttpRequest, user: User, next_url: str) -> HttpResponse:
    if acting_membership(request, user) is None and (
        selectors.memberships_for_user(user=user).count() > 1
    ):
        url = reverse("accounts:choose_membership")
        return HttpResponseRedirect(f"{url}?{urlencode({'next': next_url})}" if next_url else url)
    return HttpResponseRedirect(next_url or reverse(settings.LOGIN_REDIRECT_URL))


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if _signed_in(request):
        return HttpResponseRedirect(next_url or reverse(settings.LOGIN_REDIRECT_URL))
    notice = None
    if request.method == "POST":
        form = LoginForm(request.POST)
        if form.is_valid():
            try:
                user = services.login_verify_password(
                    request=request,
                    username=form.cleaned_data["username"],
                    password=form.cleaned_data["password"],
                    client_address=throttle.client_address(request),
                )
            except (CredentialsInvalid, LoginLocked) as exc:
                form.add_error(None, str(exc.message))
            else:
                # A fresh session key once the password is right: a key planted before
                # sign-in (session fixation) is worth nothing.
                request.session.cycle_key()
                request.session[session_keys.PENDING_USER_ID] = user.pk
                request.session[session_keys.PENDING_AT] = time.time()
                request.session[session_keys.PENDING_NEXT] = next_url
                if selectors.has_confirmed_totp(user=user):
                    return redirect("accounts:login_otp")
                services.totp_enrol_begin(user=user)
                return redirect("accounts:enrol")
    else:
        form = LoginForm(initial={"next": next_url})
        if request.method == "GET":
            # A HEAD (a link checker, a monitor) answers like GET but changes nothing.
            notice = _notice_text(request.session.pop(session_keys.NOTICE, None))
            _clear_pending(request)
    return render(request, "accounts/login.html", {"form": form, "notice": notice})


@never_cache
@require_http_methods(["GET", "POST"])
def login_otp_view(request: HttpRequest) -> HttpResponse:
    user = _pending_user(request)
    if user is None:
        return _restart(request)
    if not selectors.has_confirmed_totp(user=user):
        return redirect("accounts:enrol")
    next_url = _safe_next(request, request.session.get(session_keys.PENDING_NEXT))
    form = CodeForm(request.POST) if request.method == "POST" else CodeForm()
    if request.method == "POST" and form.is_valid():
        address = throttle.client_address(request)
        try:
            device = services.login_verify_totp(
                user=user, code=form.cleaned_data["code"], client_address=address
            )
        except LoginLocked:
            return _restart(request, "locked")
        except CodeInvalid as exc:
            form.add_error("code", str(exc.message))
        else:
            services.session_start(
                request=request, user=user, device=device, client_address=address
            )
            return _after_sign_in(request, user, next_url)
    return render(request, "accounts/login_otp.html", {"form": form})


def _qr_svg(device: TOTPDevice) -> str:
    # Rendered here, as inline SVG: no script, no image request, no third party.
    qr = segno.make(device.config_url, error="m")
    svg: str = qr.svg_inline(scale=4, dark="#000", light="#fff")
    return svg


def _grouped(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@never_cache
@require_http_methods(["GET", "POST"])
def enrol_view(request: HttpRequest) -> HttpResponse:
    user = _pending_user(request)
    if user is None:
        return _restart(request)
    if selectors.has_confirmed_totp(user=user):
        return redirect("accounts:login_otp")
    next_url = _safe_next(request, request.session.get(session_keys.PENDING_NEXT))
    form = CodeForm(request.POST) if request.method == "POST" else CodeForm()
    if request.method == "POST" and form.is_valid():
        address = throttle.client_address(request)
        try:
            device = services.totp_enrol_confirm(
                user=user, code=form.cleaned_data["code"], client_address=address
            )
        except LoginLocked:
            return _restart(request, "locked")
        except CodeInvalid as exc:
            form.add_error("code", str(exc.message))
        else:
            services.session_start(
                request=request, user=user, device=device, client_address=address
            )
            return _after_sign_in(request, user, next_url)
    device = services.totp_enrol_device(user=user)
    context: dict[str, Any] = {
        "form": form,
        "secret": _grouped(b32encode(device.bin_key).decode("ascii")),
        # segno writes only path geometry and fixed attributes: no text from any input.
        "qr_svg": mark_safe(_qr_svg(device)),  # noqa: S308  # nosec B308 B703
        "issuer": settings.OTP_TOTP_ISSUER,
        "account_name": user.get_username(),
    }
    return render(request, "accounts/enrol.html", context)


@never_cache
@require_http_methods(["GET", "POST"])
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        if request.user.is_authenticated:
            services.session_end(request=request, reason="signed_out")
        else:
            request.session.flush()
        return redirect("accounts:login")
    if not request.user.is_authenticated:
        return redirect("accounts:login")
    return render(request, "accounts/logout.html")


@never_cache
@require_http_methods(["GET", "POST"])
def step_up_view(request: HttpRequest) -> HttpResponse:
    """Prove the second factor again before a sensitive action (``?next=`` goes back)."""
    user = request.user
    if not isinstance(user, User):  # the staff gate lets only verified users here
        return redirect("accounts:login")
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if request.method == "POST":
        form = CodeForm(request.POST)
        if form.is_valid():
            try:
                services.step_up_verify(
                    request=request,
                    user=user,
                    code=form.cleaned_data["code"],
                    client_address=throttle.client_address(request),
                )
            except LoginLocked:
                # Too many wrong codes in a signed-in session: end it.
                services.session_end(request=request, reason="locked")
                return redirect("accounts:login")
            except CodeInvalid as exc:
                form.add_error("code", str(exc.message))
            else:
                return HttpResponseRedirect(next_url or reverse(settings.LOGIN_REDIRECT_URL))
    else:
        form = CodeForm(initial={"next": next_url})
    return render(request, "accounts/step_up.html", {"form": form})


@never_cache
@require_http_methods(["GET", "POST"])
def choose_membership_view(request: HttpRequest) -> HttpResponse:
    """Pick which membership (agency and role) to act as in this session."""
    user = request.user
    if not isinstance(user, User):
        return redirect("accounts:login")
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next"))
    error = None
    if request.method == "POST":
        form = ChooseMembershipForm(request.POST)
        if form.is_valid():
            try:
                services.membership_choose(
                    request=request, user=user, membership_id=form.cleaned_data["membership"]
                )
            except HimayaError as exc:
                error = str(exc.message)
            else:
                return HttpResponseRedirect(next_url or reverse(settings.LOGIN_REDIRECT_URL))
        else:
            error = str(_("Choose one of your roles."))
    current = actor_from_request(request).membership_id
    context = {
        "memberships": selectors.memberships_for_user(user=user),
        "current_id": current,
        "next": next_url,
        "error": error,
    }
    return render(request, "accounts/choose_membership.html", context)
