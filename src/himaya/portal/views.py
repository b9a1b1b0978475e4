"""Pages of the survivor portal (``/p/``): public, light, and leaving no trace.

Every page goes through ``portal_page``: the language comes from the URL (``/p/ar/...``;
no language cookie), the answer carries ``Cache-Control: no-store`` (the shell's middleware
adds it too) and ``X-Robots-Tag``, and a POST must come from our own origin. Forms work
without JavaScript: each step is one screen rendered by the server. There is no CSRF
cookie: anonymous forms carry a signed state, forms inside her follow-up session a token
bound to that session (``session.form_token``), and the session cookie is SameSite=Strict.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
)
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt

from himaya.cases import notices
from himaya.cases.evidence import use_evidence_upload_handler
from himaya.cases.models import EvidenceKind
from himaya.cases.online import ReportKind, evidence_add_online, online_evidence_supported
from himaya.core.errors import HimayaError, InvalidInput, NotFound
from himaya.core.i18n import is_supported, language_for_request
from himaya.portal import selectors, services, session, throttle, wizard
from himaya.portal.models import PortalSession

type View = Callable[..., HttpResponseBase]

EMERGENCY_LABELS = {
    "police": _("Police"),
    "gendarmerie": _("Royal Gendarmerie"),
    "helpline": _("Helpline for women (free, 24 hours)"),
    "ambulance": _("Ambulance"),
}
RECEIPT_SALT = "himaya.portal.receipt"


def emergency_numbers() -> list[tuple[str, str]]:
    numbers = []
    for entry in settings.PORTAL_EMERGENCY_NUMBERS:
        number, _sep, kind = str(entry).partition(":")
        numbers.append((number.strip(), str(EMERGENCY_LABELS.get(kind.strip(), ""))))
    return numbers


def _same_origin(request: HttpRequest) -> bool:
    origin = request.headers.get("Origin")
    if origin is None or origin == "null":
        # Browsers without Origin on same-site posts (old ones) fall back on Referer.
        referer = request.headers.get("Referer")
        if referer is None:
            return origin is None
        return urlsplit(referer).netloc == request.get_host()
    return urlsplit(origin).netloc == request.get_host()


def portal_page(view: View) -> View:
    """Language from the URL, origin check on POST, no-store and no index on the answer."""

    @csrf_exempt
    @wraps(view)
    def wrapped(request: HttpRequest, lang: str, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not is_supported(lang):
            return not_found(request)
        if request.method not in ("GET", "HEAD", "POST"):
            return HttpResponse(status=405)
        if request.method == "POST" and not _same_origin(request):
            return HttpResponse(status=403)
        with translation.override(lang):
            request.LANGUAGE_CODE = lang
            try:
                response = view(request, lang, *args, **kwargs)
            except Http404:
                # The portal's own page: the site's error pages carry the staff shell
                # (and its language form's CSRF cookie), which must never reach her phone.
                response = _render(request, lang, "not_found.html", status=404)
        return _no_trace(response, lang)

    return wrapped


def _no_trace(response: HttpResponseBase, lang: str = "") -> HttpResponseBase:
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    if lang:
        response["Content-Language"] = lang
    return response


def _render(
    request: HttpRequest,
    lang: str,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
) -> HttpResponse:
    base = {
        "lang": lang,
        "rtl": lang in settings.LANGUAGES_BIDI,
        "emergency": emergency_numbers(),
        "languages": [(code, name) for code, name in settings.LANGUAGES],
        "page_path": request.path_info.split("/", 3)[-1] if request.method == "GET" else None,
        "exit_url": reverse("portal:exit"),
    }
    return render(request, f"portal/{template}", {**base, **(context or {})}, status=status)


# --- entry, quick exit, information pages -------------------------------------------------


@csrf_exempt
def root(request: HttpRequest) -> HttpResponseBase:
    lang = language_for_request(request)
    return _no_trace(HttpResponseRedirect(reverse("portal:start", args=[lang])))


@csrf_exempt
def not_found(request: HttpRequest, rest: str = "") -> HttpResponseBase:
    """Any other address under /p/: a neutral 404 in her language, without the staff shell."""
    lang = language_for_request(request)
    with translation.override(lang):
        return _no_trace(_render(request, lang, "not_found.html", status=404), lang)


@csrf_exempt
def quick_exit(request: HttpRequest) -> HttpResponseBase:
    """Ends her session, drops every cookie we may have set, and lands on a neutral site.

    With JavaScript the button replaces this history entry (``location.replace``); without
    it this answer still leaves nothing to reopen: the session is gone on the server.
    """
    response = HttpResponseRedirect(str(settings.PORTAL_EXIT_URL), status=303)
    response.status_code = 303
    session.session_end(request, response)
    response.delete_cookie(session.COOKIE, path=session.PATH)
    if settings.LANGUAGE_COOKIE_NAME in request.COOKIES:
        response.delete_cookie(settings.LANGUAGE_COOKIE_NAME, path=settings.LANGUAGE_COOKIE_PATH)
    response["Clear-Site-Data"] = '"cache", "storage"'
    return _no_trace(response)


@portal_page
def start(request: HttpRequest, lang: str) -> HttpResponseBase:
    return _render(request, lang, "start.html")


@portal_page
def safety(request: HttpRequest, lang: str) -> HttpResponseBase:
    return _render(request, lang, "safety.html")


@portal_page
def nearby(request: HttpRequest, lang: str) -> HttpResponseBase:
    """Find help near me: province, then commune, then the nearest services (POST only, so
    the place she looked for never sits in a URL)."""
    province = str(request.POST.get("province", "")) if request.method == "POST" else ""
    commune = str(request.POST.get("commune", "")) if request.method == "POST" else ""
    rows: list[selectors.ServiceRow] = []
    communes: list[tuple[str, str]] = []
    if province:
        communes = wizard.commune_choices(province)
    if commune.isdigit() and any(value == commune for value, _label in communes):
        rows = selectors.services_near(int(commune))
    return _render(
        request,
        lang,
        "nearby.html",
        {
            "provinces": wizard.province_choices(),
            "province": province,
            "communes": communes,
            "commune": commune,
            "rows": rows,
            "searched": bool(commune),
        },
    )


# --- report and complaint -----------------------------------------------------------------


STEP_TEXT: dict[str, tuple[Any, Any]] = {
    "who": (_("Who is writing?"), _("Every question can be skipped unless it says otherwise.")),
    "what": (_("What happened"), ""),
    "when": (_("When"), ""),
    "where": (
        _("Where"),
        _(
            "The province and commune where it happened or where you live: they decide which "
            "unit receives your report."
        ),
    ),
    "place": (_("Where"), ""),
    "safety": (_("Your safety"), ""),
    "contact": (
        _("How to reach you safely"),
        _("The unit will only use the way you choose here."),
    ),
    "identity": (_("About you (you can skip this)"), ""),
    "review": (_("Check and send"), ""),
}


def _pow_challenge(state: wizard.State) -> str:
    return hashlib.sha256(f"{state.key}:{settings.SECRET_KEY[:16]}".encode()).hexdigest()[:32]


def _pow_ok(state: wizard.State, nonce: str) -> bool:
    if not nonce or len(nonce) > 32 or not nonce.isalnum():
        return False
    digest = hashlib.sha256(f"{_pow_challenge(state)}:{nonce}".encode()).digest()
    bits = int(settings.PORTAL_POW_BITS)
    value = int.from_bytes(digest, "big")
    return value >> (256 - bits) == 0


def _question(state: wizard.State) -> tuple[int, int]:
    a, b = secrets.randbelow(8) + 1, secrets.randbelow(8) + 1
    state.question = wizard.question_digest(str(a + b))
    return a, b


def _form_page(
    request: HttpRequest,
    lang: str,
    state: wizard.State,
    step: str,
    form: Any,
    *,
    errors: dict[str, list[Any]] | None = None,
    status: int = 200,
) -> HttpResponse:
    errors = errors or {}
    for name, field in form.fields.items():
        if errors.get(name):
            field.widget.attrs.update({"aria-invalid": "true", "aria-describedby": f"err-{name}"})
    heading, intro = STEP_TEXT[step]
    if step == "identity" and state.kind == ReportKind.COMPLAINT:
        heading, intro = (
            _("Who files the complaint"),
            _("Your name is needed. With your CIN number the complaint is complete."),
        )
    context: dict[str, Any] = {
        "rows": [(form[name], errors.get(name, [])) for name in form.fields],
        "heading": heading,
        "intro": intro,
        "state": state.dump(),
        "kind": state.kind,
        "step": step,
        "step_number": wizard.STEPS.index(step) + 1,
        "step_total": len(wizard.STEPS),
        "form": form,
        "errors": errors,
        "general": errors.get("__all__", []),
        "first": step == wizard.STEPS[0],
    }
    if step == "review":
        pressure = throttle.report_pressure(request)
        if pressure.refused:
            return _render(request, lang, "refused.html", status=429)
        if pressure.suspicious:
            a, b = _question(state)
            context["question"] = gettext("How much is %(a)s + %(b)s? Write the number.") % {
                "a": a,
                "b": b,
            }
            context["state"] = state.dump()
        context["pow"] = _pow_challenge(state)
        context["pow_bits"] = settings.PORTAL_POW_BITS
        context["summary"] = _summary(state)
        context["evidence"] = online_evidence_supported()
    return _render(request, lang, "form.html", context, status=status)


def _summary(state: wizard.State) -> list[tuple[str, str]]:
    """What she answered, in her words, for the last screen."""
    labels = dict(wizard.FORMS_CHOICES)
    chosen = state.get("what", "forms_", [])
    rows: list[tuple[str, str]] = []
    if isinstance(chosen, list) and chosen:
        rows.append((gettext("What happened"), "; ".join(str(labels.get(c, "")) for c in chosen)))
    when = dict(wizard.WHEN_CHOICES).get(str(state.get("when", "when")), "")
    if when:
        rows.append((gettext("When"), f"{when} {state.get('when', 'day')}".strip()))
    communes = dict(wizard.commune_choices(str(state.get("where", "province"))))
    rows.append((gettext("Where"), str(communes.get(str(state.get("place", "commune")), "—"))))
    contact = dict(wizard.CONTACT_CHOICES).get(str(state.get("contact", "channel")), "")
    if contact:
        rows.append((gettext("Contact"), str(contact)))
    name = str(state.get("identity", "full_name"))
    if name:
        rows.append((gettext("Name"), name))
    return rows


@portal_page
def report(request: HttpRequest, lang: str) -> HttpResponseBase:
    """The whole form: one POST per screen. ``kind`` starts it; then ``state`` carries it."""
    if request.method != "POST":
        return HttpResponseRedirect(reverse("portal:start", args=[lang]))
    use_evidence_upload_handler(request)
    kind = str(request.POST.get("kind", ""))
    if kind in ReportKind.values and "state" not in request.POST:
        fresh = wizard.new_state(kind)
        return _form_page(request, lang, fresh, "who", wizard.bound_form("who", fresh))
    state = wizard.load_state(str(request.POST.get("state", "")))
    if state is None:
        return _render(request, lang, "expired.html", status=400)
    step = str(request.POST.get("step", state.step))
    if step not in wizard.STEPS:
        step = state.step
    action = str(request.POST.get("go", "next"))
    form = wizard.bound_form(step, state, request.POST)
    errors = wizard.check_step(step, state, form)
    if action == "back":
        target = wizard.previous_step(step)
        state.step = target
        return _form_page(request, lang, state, target, wizard.bound_form(target, state))
    if errors:
        state.step = step
        return _form_page(request, lang, state, step, form, errors=errors, status=422)
    if step != "review":
        target = wizard.next_step(step)
        state.step = target
        return _form_page(request, lang, state, target, wizard.bound_form(target, state))
    return _submit(request, lang, state, form)


def _submit(request: HttpRequest, lang: str, state: wizard.State, form: Any) -> HttpResponseBase:
    missing = wizard.first_unanswered_required(state)
    if missing is not None:
        state.step = missing
        form = wizard.bound_form(missing, state)
        return _form_page(
            request,
            lang,
            state,
            missing,
            form,
            errors={"__all__": [wizard.MSG_REQUIRED]},
            status=422,
        )
    pow_valid = _pow_ok(state, str(request.POST.get("pow", "")))
    pressure = throttle.report_pressure(request)
    if pressure.refused:
        return _render(request, lang, "refused.html", status=429)
    if state.question and not pow_valid:
        answer = (
            str(request.POST.get("answer", ""))
            .strip()
            .translate(str.maketrans("٠١٢٣٤٥٦٧٨٩", "0123456789"))
        )
        if wizard.question_digest(answer) != state.question:
            return _form_page(
                request,
                lang,
                state,
                "review",
                form,
                errors={"answer": [gettext("This is not the right number. Try again.")]},
                status=422,
            )
    elif pressure.suspicious and not pow_valid:
        # Traffic turned suspicious while she was on this screen: ask now.
        return _form_page(request, lang, state, "review", form, status=422)
    too_fast = time.time() - state.started < int(settings.PORTAL_MIN_FILL_SECONDS)
    honeypot = bool(str(request.POST.get("website", "")).strip())
    report_data = wizard.to_report(state, language=lang, suspected_automated=too_fast or honeypot)
    try:
        submission = services.report_submit(
            report=report_data, idempotency_key=state.key, language=lang
        )
    except InvalidInput as exc:
        step, field, messages = _first_error(exc)
        state.step = step
        errors = {field: messages}
        return _form_page(
            request, lang, state, step, wizard.bound_form(step, state), errors=errors, status=422
        )
    throttle.report_counted(request)
    upload = request.FILES.get("file")
    evidence_error = ""
    if upload is not None and online_evidence_supported():
        try:
            evidence_add_online(
                case=submission.case,
                kind=str(request.POST.get("evidence_kind", EvidenceKind.DOCUMENT)),
                upload=upload,
            )
        except InvalidInput as exc:
            evidence_error = "; ".join(str(m) for ms in (exc.fields or {}).values() for m in ms)
    receipt = signing.dumps(
        {"r": submission.case.reference, "d": timezone.localdate().isoformat(), "k": state.kind},
        salt=RECEIPT_SALT,
    )
    return _render(
        request,
        lang,
        "done.html",
        {
            "codename": submission.codename,
            "created": submission.created,
            "kind": state.kind,
            "reference": submission.case.reference,
            "receipt": receipt,
            "evidence_error": evidence_error,
        },
    )


def _first_error(exc: InvalidInput) -> tuple[str, str, list[Any]]:
    for name, messages in (exc.fields or {}).items():
        step, field = wizard.FIELD_STEPS.get(str(name), ("review", "__all__"))
        return step, field, list(messages)
    return "review", "__all__", [gettext("Something is not right. Check your answers.")]


@portal_page
def receipt(request: HttpRequest, lang: str) -> HttpResponseBase:
    """A receipt, only when she asks for it: plain text, neutral file name."""
    if request.method != "POST":
        raise Http404
    try:
        data = signing.loads(str(request.POST.get("receipt", "")), salt=RECEIPT_SALT)
    except signing.BadSignature:
        raise Http404 from None
    lines = [
        gettext("Receipt"),
        f"{gettext('Reference')}: {data.get('r', '')}",
        f"{gettext('Date')}: {data.get('d', '')}",
        gettext("Keep your codename apart from this receipt."),
    ]
    response = HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="note.txt"'
    return response


# --- follow-up ----------------------------------------------------------------------------


@portal_page
def follow(request: HttpRequest, lang: str) -> HttpResponseBase:
    if request.method != "POST":
        return _render(request, lang, "follow.html")
    typed = str(request.POST.get("codename", ""))[:400]
    result = services.follow_open(request=request, text=typed)
    if result.outcome == "ok" and result.case is not None:
        response = HttpResponseRedirect(reverse("portal:case", args=[lang]), status=303)
        response.status_code = 303
        session.session_open(response, case=result.case)
        return response
    messages = {
        "not_found": gettext("This codename was not found. Check it and try again."),
        "typo": gettext("A word or the number seems mistyped. Check each word and the number."),
        "blocked": gettext("Too many tries. Wait %(minutes)s minutes, or call the numbers above.")
        % {"minutes": result.minutes},
    }
    return _render(
        request,
        lang,
        "follow.html",
        {"error": messages.get(result.outcome, ""), "typed": typed},
        status=429 if result.outcome == "blocked" else 422,
    )


def _with_session(view: Callable[..., HttpResponseBase]) -> View:
    @wraps(view)
    def wrapped(request: HttpRequest, lang: str, *args: Any, **kwargs: Any) -> HttpResponseBase:
        current = session.current(request)
        if current is None:
            response = _render(request, lang, "ended.html", status=401)
            session.session_end(request, response)
            return response
        if request.method == "POST" and not session.form_token_ok(request):
            return _render(request, lang, "expired.html", status=400)
        return view(request, lang, current, *args, **kwargs)

    return wrapped


def _case_render(
    request: HttpRequest,
    lang: str,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
) -> HttpResponse:
    base = {
        "t": session.form_token(request),
        "key": secrets.token_urlsafe(18),
        "evidence": online_evidence_supported(),
    }
    return _render(request, lang, template, {**base, **(context or {})}, status=status)


@portal_page
@_with_session
def case(request: HttpRequest, lang: str, current: PortalSession) -> HttpResponseBase:
    inbox = notices.inbox_for_survivor(case=current.case, limit=50)
    notices.inbox_mark_read(case=current.case)
    return _case_render(
        request,
        lang,
        "case.html",
        {"status": selectors.status_for(current.case), "inbox": inbox},
    )


@portal_page
@_with_session
def messages(request: HttpRequest, lang: str, current: PortalSession) -> HttpResponseBase:
    errors: dict[str, list[Any]] = {}
    sent = False
    body = ""
    if request.method == "POST":
        body = str(request.POST.get("body", ""))
        try:
            notices.survivor_message_add(
                case=current.case, body=body, idempotency_key=str(request.POST.get("key", ""))
            )
            sent = True
            body = ""
        except InvalidInput as exc:
            errors = {str(k): list(v) for k, v in (exc.fields or {}).items()}
            if "idempotency_key" in errors:
                errors.setdefault("body", []).extend(errors.pop("idempotency_key"))
    inbox = notices.inbox_for_survivor(case=current.case, limit=50)
    mine = notices.survivor_messages_for_case(case=current.case, limit=50)
    thread = sorted(
        [("unit", i.created_at, i.text or i.title) for i in inbox]
        + [("me", m.created_at, str(m.body)) for m in mine],
        key=lambda row: row[1],
    )
    return _case_render(
        request,
        lang,
        "messages.html",
        {"thread": thread, "errors": errors, "sent": sent, "body": body},
        status=422 if errors else 200,
    )


@portal_page
@_with_session
def evidence(request: HttpRequest, lang: str, current: PortalSession) -> HttpResponseBase:
    if not online_evidence_supported():
        raise Http404
    errors: dict[str, list[Any]] = {}
    sent = False
    if request.method == "POST":
        use_evidence_upload_handler(request)
        try:
            evidence_add_online(
                case=current.case,
                kind=str(request.POST.get("kind", "")),
                upload=request.FILES.get("file"),
                description=str(request.POST.get("description", "")),
            )
            sent = True
        except InvalidInput as exc:
            errors = {str(k): list(v) for k, v in (exc.fields or {}).items()}
    return _case_render(
        request,
        lang,
        "evidence.html",
        {
            "kinds": EvidenceKind.choices,
            "errors": errors,
            "sent": sent,
            "max_mb": int(settings.HIMAYA_EVIDENCE_MAX_BYTES) // (1024 * 1024),
        },
        status=422 if errors else 200,
    )


@portal_page
@_with_session
def breach(request: HttpRequest, lang: str, current: PortalSession) -> HttpResponseBase:
    measures = selectors.measures_for(current.case)
    errors: dict[str, list[Any]] = {}
    sent = False
    description = ""
    if request.method == "POST":
        description = str(request.POST.get("description", ""))
        from himaya.justice.services import breach_report_by_survivor

        try:
            breach_report_by_survivor(
                case=current.case,
                measure_id=str(request.POST.get("measure", "")),
                description=description,
                idempotency_key=str(request.POST.get("key", "")),
            )
            sent = True
            description = ""
        except NotFound:
            errors = {"measure": [gettext("Choose one of the answers.")]}
        except InvalidInput as exc:
            errors = {str(k): list(v) for k, v in (exc.fields or {}).items()}
        except HimayaError:
            errors = {"measure": [gettext("Something is not right. Check your answers.")]}
    return _case_render(
        request,
        lang,
        "breach.html",
        {"measures": measures, "errors": errors, "sent": sent, "description": description},
        status=422 if errors else 200,
    )


@portal_page
@_with_session
def access(request: HttpRequest, lang: str, current: PortalSession) -> HttpResponseBase:
    return _case_render(
        request, lang, "access.html", {"openings": selectors.agencies_opened(current.case)}
    )


@portal_page
@_with_session
def sign_out(request: HttpRequest, lang: str, current: PortalSession) -> HttpResponseBase:
    if request.method != "POST":
        return HttpResponseRedirect(reverse("portal:case", args=[lang]))
    response = HttpResponseRedirect(reverse("portal:start", args=[lang]), status=303)
    response.status_code = 303
    session.session_end(request, response)
    return response
