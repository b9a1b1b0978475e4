"""Staff pages of the service network: directory, agency page, routing, map, coverage, and the
administrator's edit pages. Thin: parse, call a selector or service, render.

The acting person comes from ``request.actor`` (set by the accounts staff gate, which sits
above this app on the floors and so cannot be imported here); without it every page is a 404.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from himaya.core.actor import Actor
from himaya.core.context_processors import acting
from himaya.core.errors import (
    HimayaError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    StepUpRequired,
)
from himaya.network import policies, routing, selectors, services
from himaya.network.coverage import DEFAULT_BANDS, network_coverage
from himaya.network.forms import (
    AgencyForm,
    AvailabilityForm,
    DirectoryForm,
    RevealForm,
    RouteForm,
    initial_from_agency,
)
from himaya.network.index import get_index
from himaya.network.models import AgencyKind
from himaya.network.svgmap import band_class, band_legend, render_map
from himaya.network.validation import AgencyData

type StaffView = Callable[..., HttpResponse]


def staff_page(view: Callable[..., HttpResponse]) -> StaffView:
    """Resolve the actor (404 without one) and turn the domain errors a read can raise into
    the site's error pages."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            actor = policies.check_browse(acting(request))
            return view(request, actor, *args, **kwargs)
        except NotFound as exc:
            raise Http404 from exc
        except PermissionDenied as exc:
            raise DjangoPermissionDenied from exc

    return wrapped


def field_errors(exc: HimayaError) -> dict[str, list[str]]:
    """The per-field messages a domain error carries (``fields=`` in its parameters)."""
    raw = exc.params.get("fields")
    if not isinstance(raw, dict):
        return {}
    return {
        str(name): [str(m) for m in (messages if isinstance(messages, list) else [messages])]
        for name, messages in raw.items()
    }


def _step_up_redirect(request: HttpRequest, next_url: str) -> HttpResponse:
    try:
        url = reverse("accounts:step_up")
    except NoReverseMatch:  # pragma: no cover - accounts always routes it
        raise DjangoPermissionDenied from None
    return HttpResponseRedirect(f"{url}?{urlencode({'next': next_url})}")


# --- Directory ------------------------------------------------------------------------------


@require_GET
@staff_page
def directory(request: HttpRequest, actor: Actor) -> HttpResponse:
    form = DirectoryForm(request.GET or None, provinces=selectors.province_choices())
    query = selectors.DirectoryQuery()
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        query = selectors.DirectoryQuery(
            q=data["q"],
            kind=data["kind"] or None,
            service=data["service"] or None,
            language=data["language"] or None,
            province=data["province"] or None,
            open_now=data["open_now"],
        )
    try:
        page = selectors.directory_search(
            actor=actor, query=query, cursor=request.GET.get("cursor") or None, limit=50
        )
    except InvalidInput:
        page = selectors.directory_search(actor=actor, query=query, limit=50)
    next_url = None
    if page.next_cursor:
        params = request.GET.copy()
        params["cursor"] = page.next_cursor
        next_url = f"?{params.urlencode()}"
    station = selectors.actor_station(actor)
    station_answer = None
    if station is not None:
        station_answer = routing.nearest_unit(routing.origin_from_station(station.id))
    index = get_index()
    rows = [
        {
            "entry": a,
            "commune": selectors.place_names(a, index)[0],
            "province": selectors.place_names(a, index)[1],
        }
        for a in page.items
    ]
    return render(
        request,
        "network/directory.html",
        {
            "form": form,
            "rows": rows,
            "total": page.total,
            "next_url": next_url,
            "station": station,
            "station_answer": station_answer,
            "can_edit": policies.can_edit_network(actor),
        },
    )


# --- Agency page ----------------------------------------------------------------------------


def _agency_context(actor: Actor, agency_id: int) -> dict[str, Any]:
    detail = selectors.agency_detail(actor=actor, agency_id=agency_id)
    context: dict[str, Any] = {
        "detail": detail,
        "agency": detail.agency,
        "entry": detail.entry,
        "can_edit": policies.can_edit_network(actor),
        "can_set_availability": policies.can_set_availability(
            actor, agency_id=detail.agency.pk, kind=detail.agency.kind
        ),
        "reveal_form": RevealForm() if detail.may_reveal_address else None,
        "revealed_address": None,
    }
    kind = detail.agency.kind
    if kind == AgencyKind.DISTRICT_STATION and detail.agency.is_active:
        context["unit_answer"] = routing.nearest_unit(routing.origin_from_station(agency_id))
    if kind == AgencyKind.POLICE_UNIT:
        context["referring_stations"] = selectors.stations_referring_to(agency_id)
    if context["can_set_availability"]:
        context["availability_form"] = AvailabilityForm(
            initial={
                "unavailable": detail.agency.temporarily_unavailable,
                "until": detail.agency.unavailable_until,
                "reason": detail.agency.unavailable_reason,
            }
        )
    return context


@require_GET
@staff_page
def agency_page(request: HttpRequest, actor: Actor, pk: int) -> HttpResponse:
    return render(request, "network/agency.html", _agency_context(actor, pk))


@require_POST
@staff_page
def reveal_address(request: HttpRequest, actor: Actor, pk: int) -> HttpResponse:
    """Show a shelter's address once, in this response only (never stored in the session)."""
    context = _agency_context(actor, pk)
    if context["reveal_form"] is None:
        # Roles that may never see it: refuse without saying more.
        raise DjangoPermissionDenied
    form = RevealForm(request.POST)
    status = 200
    if form.is_valid():
        try:
            context["revealed_address"] = services.shelter_address_reveal(
                actor=actor, agency_id=pk, reason=form.cleaned_data["reason"]
            )
        except StepUpRequired:
            return _step_up_redirect(request, reverse("network:agency", args=[pk]))
        except InvalidInput as exc:
            for message in field_errors(exc).get("reason", []):
                form.add_error("reason", message)
            status = 422
    else:
        status = 422
    context["reveal_form"] = form
    return render(request, "network/agency.html", context, status=status)


@require_POST
@staff_page
def set_availability(request: HttpRequest, actor: Actor, pk: int) -> HttpResponse:
    form = AvailabilityForm(request.POST)
    if form.is_valid():
        try:
            services.agency_set_availability(
                actor=actor,
                agency_id=pk,
                unavailable=form.cleaned_data["unavailable"],
                until=form.cleaned_data["until"],
                reason=form.cleaned_data["reason"],
            )
        except InvalidInput as exc:
            for name, messages in field_errors(exc).items():
                for message in messages:
                    form.add_error(name if name in form.fields else None, message)
        else:
            return HttpResponseRedirect(reverse("network:agency", args=[pk]))
    context = _agency_context(actor, pk)
    context["availability_form"] = form
    return render(request, "network/agency.html", context, status=422)


# --- Routing --------------------------------------------------------------------------------


@require_GET
@staff_page
def route(request: HttpRequest, actor: Actor) -> HttpResponse:
    form = RouteForm(request.GET or None)
    context: dict[str, Any] = {"form": form}
    if form.is_bound and form.is_valid() and form.has_origin():
        data = form.cleaned_data
        commune_code = None
        if data.get("commune"):
            matches = selectors.find_communes(data["commune"])
            if len(matches) == 1:
                commune_code = matches[0].code
            elif matches:
                params = request.GET.copy()
                choices = []
                for commune in matches:
                    params["commune"] = commune.code
                    choices.append((commune, f"?{params.urlencode()}"))
                context["commune_choices"] = choices
                return render(request, "network/route.html", context)
            else:
                form.add_error("commune", _("No commune matches this code or name."))
                return render(request, "network/route.html", context, status=422)
        try:
            origin = routing.resolve_origin(
                commune=commune_code,
                latitude=data.get("latitude") if commune_code is None else None,
                longitude=data.get("longitude") if commune_code is None else None,
                station=data.get("station") if commune_code is None else None,
            )
        except HimayaError as exc:
            form.add_error(None, str(exc.message))
            return render(request, "network/route.html", context, status=422)
        needs = form.needs()
        context["origin"] = origin
        context["unit_answer"] = routing.nearest_unit(origin)
        context["prosecution_answer"] = routing.competent_prosecution(origin)
        if data.get("kind") or not needs.is_empty():
            context["services_answer"] = routing.nearest_services(
                origin, kind=data.get("kind") or None, needs=needs, limit=5
            )
    return render(request, "network/route.html", context)


# --- Map and coverage -----------------------------------------------------------------------


@require_GET
@staff_page
def network_map(request: HttpRequest, actor: Actor) -> HttpResponse:
    index = get_index()
    report = network_coverage(index=index)
    svg = render_map(index=index, coverage=report, bounds=DEFAULT_BANDS)
    provinces: dict[int, dict[str, Any]] = {}
    for province in index.provinces.values():
        provinces[province.id] = {
            "name": province.name_fr,
            "units": 0,
            "stations": 0,
            "women_far": 0,
        }
    for agency in index.agencies.values():
        if not agency.is_active or agency.province_id not in provinces:
            continue
        if agency.kind == AgencyKind.POLICE_UNIT:
            provinces[agency.province_id]["units"] += 1
        elif agency.kind == AgencyKind.DISTRICT_STATION:
            provinces[agency.province_id]["stations"] += 1
    far = DEFAULT_BANDS[2]
    for row in report.rows:
        if row.distance_km is None or row.distance_km > far:
            provinces[row.commune.province_id]["women_far"] += row.women
    return render(
        request,
        "network/map.html",
        {
            "svg": svg,
            "legend": band_legend(DEFAULT_BANDS),
            "report": report,
            "province_rows": sorted(provinces.values(), key=lambda p: p["name"]),
            "far_km": far,
        },
    )


@require_GET
@staff_page
def coverage(request: HttpRequest, actor: Actor) -> HttpResponse:
    report = network_coverage()
    show_all = request.GET.get("all") == "1"
    rows = report.rows if show_all else report.rows[:100]
    return render(
        request,
        "network/coverage.html",
        {
            "report": report,
            "rows": [(row, band_class(row.distance_km, DEFAULT_BANDS)) for row in rows],
            "show_all": show_all,
            "legend": band_legend(DEFAULT_BANDS),
        },
    )


# --- Administration -------------------------------------------------------------------------


def _split_codes(text: str) -> list[str]:
    return [part for part in text.replace(",", " ").split() if part]


def _agency_data(form: AgencyForm) -> tuple[AgencyData, dict[str, list[str]]]:
    data = form.cleaned_data
    resolved = selectors.resolve_codes(
        commune_code=data["commune_code"].strip(),
        default_unit_code=data["default_unit_code"].strip(),
        competent_codes=_split_codes(data["competent_communes"]),
    )
    points = []
    for line in data["focal_points"].splitlines():
        if line.strip():
            name, _sep, phone = line.partition(":")
            points.append((name.strip(), phone.strip()))
    agency_data = AgencyData(
        kind=data["kind"],
        code=data["code"].strip() or None,
        name_ar=data["name_ar"],
        name_fr=data["name_fr"],
        commune_id=resolved.commune_id,
        latitude=data["latitude"],
        longitude=data["longitude"],
        # An empty address on a shelter keeps the sealed one (it is never shown back).
        address=(data["address"] or None)
        if data["kind"] == AgencyKind.SHELTER
        else data["address"],
        hours=data["hours"],
        languages=list(data["languages"]),
        services=list(data["services"]),
        step_free_access=data["step_free_access"],
        accessibility_notes=data["accessibility_notes"],
        beds=data["beds"],
        accepts_single_mothers=data["accepts_single_mothers"],
        accepts_children=data["accepts_children"],
        accepts_minors=data["accepts_minors"],
        accepts_women_with_disabilities=data["accepts_women_with_disabilities"],
        phone=data["phone"],
        email=data["email"],
        website=data["website"],
        default_unit_id=resolved.default_unit_id,
        focal_points=points,
        competent_commune_ids=resolved.competent_commune_ids,
        is_active=data["is_active"],
    )
    return agency_data, resolved.errors


def _save(form: AgencyForm, actor: Actor, pk: int | None) -> int | None:
    """Save a valid form through the services; the agency's id, or None with the errors
    added to the form."""
    data, errors = _agency_data(form)
    if not errors:
        try:
            if pk is None:
                data.address = data.address or ""
                return services.agency_create(actor=actor, data=data).pk
            return services.agency_update(actor=actor, agency_id=pk, data=data).pk
        except HimayaError as exc:
            errors = field_errors(exc) or {"__all__": [str(exc.message)]}
    for name, messages in errors.items():
        for message in messages:
            form.add_error(name if name in form.fields else None, str(message))
    return None


def _edit(request: HttpRequest, actor: Actor, pk: int | None) -> HttpResponse:
    if not policies.can_edit_network(actor):
        raise Http404
    status = 200
    if request.method == "POST":
        form = AgencyForm(request.POST)
        saved = _save(form, actor, pk) if form.is_valid() else None
        if saved is not None:
            return HttpResponseRedirect(reverse("network:agency", args=[saved]))
        status = 422
    elif pk is None:
        form = AgencyForm(initial={"is_active": True})
    else:
        agency, hours, points, codes, unit_code = selectors.agency_for_edit(
            actor=actor, agency_id=pk
        )
        form = AgencyForm(
            initial=initial_from_agency(
                agency,
                hours=hours,
                focal_points=points,
                competent_codes=codes,
                default_unit_code=unit_code,
            )
        )
    return render(request, "network/agency_form.html", {"form": form, "pk": pk}, status=status)


@require_http_methods(["GET", "POST"])
@staff_page
def agency_new(request: HttpRequest, actor: Actor) -> HttpResponse:
    return _edit(request, actor, None)


@require_http_methods(["GET", "POST"])
@staff_page
def agency_edit(request: HttpRequest, actor: Actor, pk: int) -> HttpResponse:
    return _edit(request, actor, pk)
