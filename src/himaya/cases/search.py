"""Finding her again, and finding him again, through blind indexes only.

Nothing here reads a sealed value of another unit's file or compares plaintext: every match
is an equality between keyed digests (``core.blind_index``) on the ``(purpose, digest,
content type)`` index, so a look-up costs the same with a thousand cases or a million.

Purposes (each has its own HMAC key):

``survivor_phone`` / ``perpetrator_phone``
    the number in E.164 (typed nationally or internationally, it indexes the same);
``survivor_cin`` / ``perpetrator_cin``
    the national ID, upper case, without spaces or dashes;
``survivor_name`` / ``perpetrator_name``
    one digest per phonetic token key (``core.names.token_keys``) and one for the whole-name
    key, both *scoped to the holding unit* (``t:<unit>:<key>``, ``f:<unit>:<key>``): a unit
    searches its own files by any part of a name, spelled in either script, and a common
    given name never makes it walk the whole country's entries;
``survivor_match`` / ``perpetrator_match``
    compound keys for duplicate and prior-contact detection across units: whole name and
    date of birth (``fd:``), one name token and date of birth (``td:``), whole name and
    commune (``fc:``). Each is selective on its own, so detection is one equality look-up,
    not a scan of every "Fatima" in the country narrowed afterwards.

A bare name never tells a unit that another unit holds a file: only a phone, a CIN, or a
name *combined with* a date of birth or a commune does (the issue's rule, and the defence
against a colleague looking up his wife's name). What crosses units is only WHETHER and
WHICH UNIT, never a case id, a reference or any content.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import Model

from himaya.cases.models import AgeRange, CaseFile, Perpetrator, Survivor
from himaya.core import blind_index
from himaya.core.blind_index import (
    BlindIndex,
    index_replace_all,
    normalize_cin,
    normalize_phone,
)
from himaya.core.crypto import is_erased
from himaya.core.names import token_keys

__all__ = [
    "PERPETRATOR_CIN",
    "PERPETRATOR_MATCH",
    "PERPETRATOR_NAME",
    "PERPETRATOR_PHONE",
    "SURVIVOR_CIN",
    "SURVIVOR_MATCH",
    "SURVIVOR_NAME",
    "SURVIVOR_PHONE",
    "CaseMatch",
    "MatchReason",
    "PerpetratorMatch",
    "PriorContact",
    "SearchResult",
    "SurvivorQuery",
    "UnitMatch",
    "index_new_case",
    "index_perpetrator",
    "index_survivor",
    "perpetrator_entries",
    "perpetrator_matches",
    "prior_contact",
    "survivor_entries",
    "survivor_matches",
    "survivors_by_name_in_unit",
]

#: Upper bound on digest rows read by one detection: a search never grows with the country.
MAX_ENTRIES = 500
#: Upper bound on files listed for the searching unit.
MAX_OWN = 50


def _as_is(value: str) -> str:
    # The terms below are composed (and normalized) by this module before indexing.
    return value


SURVIVOR_PHONE = BlindIndex("survivor_phone", normalize=normalize_phone)
SURVIVOR_CIN = BlindIndex("survivor_cin", normalize=normalize_cin)
SURVIVOR_NAME = BlindIndex("survivor_name", normalize=_as_is)
SURVIVOR_MATCH = BlindIndex("survivor_match", normalize=_as_is)
PERPETRATOR_PHONE = BlindIndex("perpetrator_phone", normalize=normalize_phone)
PERPETRATOR_CIN = BlindIndex("perpetrator_cin", normalize=normalize_cin)
PERPETRATOR_NAME = BlindIndex("perpetrator_name", normalize=_as_is)
PERPETRATOR_MATCH = BlindIndex("perpetrator_match", normalize=_as_is)


class MatchReason(StrEnum):
    PHONE = "phone"
    CIN = "cin"
    NAME_AND_BIRTH_DATE = "name_and_birth_date"
    PARTIAL_NAME_AND_BIRTH_DATE = "partial_name_and_birth_date"
    NAME_AND_COMMUNE = "name_and_commune"
    #: Own unit only: every typed name token (or the whole name) is in her indexed name.
    NAME = "name"


#: Reasons that by themselves say "very probably the same person".
STRONG_REASONS = frozenset({MatchReason.PHONE, MatchReason.CIN, MatchReason.NAME_AND_BIRTH_DATE})


# --- terms --------------------------------------------------------------------------------


def _tokens(full_name: str) -> list[str]:
    return sorted(set(token_keys(full_name or "")))


def _full_key(tokens: Sequence[str]) -> str:
    return "-".join(sorted(tokens))


def name_terms(full_name: str, *, unit_id: int) -> list[str]:
    """Unit-scoped terms of the ``*_name`` purposes: one per token key, one for the whole."""
    tokens = _tokens(full_name)
    if not tokens:
        return []
    return [*(f"t:{unit_id}:{token}" for token in tokens), f"f:{unit_id}:{_full_key(tokens)}"]


def match_terms(
    full_name: str, *, date_of_birth: date | None = None, communes: Iterable[int | None] = ()
) -> dict[MatchReason, list[str]]:
    """The compound terms of the ``*_match`` purposes, by the reason they stand for."""
    tokens = _tokens(full_name)
    terms: dict[MatchReason, list[str]] = {}
    if not tokens:
        return terms
    full = _full_key(tokens)
    if date_of_birth is not None:
        born = date_of_birth.isoformat()
        terms[MatchReason.NAME_AND_BIRTH_DATE] = [f"fd:{full}|{born}"]
        # One token of a three-part name against a two-part one is still her with the
        # same birthday; "fd" wins when both match (STRONG_REASONS).
        terms[MatchReason.PARTIAL_NAME_AND_BIRTH_DATE] = [f"td:{t}|{born}" for t in tokens]
    commune_ids = sorted({c for c in communes if c})
    if commune_ids:
        terms[MatchReason.NAME_AND_COMMUNE] = [f"fc:{full}|{c}" for c in commune_ids]
    return terms


# --- indexing (called by the services, inside their transaction) -------------------------


def _plain(value: object) -> str:
    """A sealed field's text, or "" when empty or erased (an erased value is never indexed:
    its "erased" placeholder text would make every erased record match every other)."""
    if value is None or is_erased(value):
        return ""
    return str(value)


def _parse_date(value: object) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value:
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def survivor_entries(survivor: Survivor, *, unit_id: int) -> dict[BlindIndex, list[str]]:
    """Her terms for every survivor purpose, from her current (plaintext) values."""
    name = _plain(survivor.full_name)
    terms = match_terms(
        name,
        date_of_birth=_parse_date(survivor.date_of_birth),
        communes=[survivor.residence_commune_id],
    )
    return {
        SURVIVOR_PHONE: [_plain(survivor.phone)],
        SURVIVOR_CIN: [_plain(survivor.cin)],
        SURVIVOR_NAME: name_terms(name, unit_id=unit_id),
        SURVIVOR_MATCH: [term for group in terms.values() for term in group],
    }


def perpetrator_entries(
    perpetrator: Perpetrator, *, unit_id: int, communes: Iterable[int | None]
) -> dict[BlindIndex, list[str]]:
    """His terms; ``communes`` are where the case places him (her residence, incidents)."""
    name = _plain(perpetrator.full_name)
    terms = match_terms(name, communes=communes)
    return {
        PERPETRATOR_PHONE: [_plain(perpetrator.phone)],
        PERPETRATOR_CIN: [_plain(perpetrator.cin)],
        PERPETRATOR_NAME: name_terms(name, unit_id=unit_id),
        PERPETRATOR_MATCH: [term for group in terms.values() for term in group],
    }


def index_survivor(survivor: Survivor, *, unit_id: int) -> None:
    """Replace her entries for every survivor purpose from her current (plaintext) values."""
    index_replace_all(
        obj=survivor,
        data_key_id=survivor.data_key_id,
        values=survivor_entries(survivor, unit_id=unit_id),
    )


def index_perpetrator(
    perpetrator: Perpetrator, *, unit_id: int, communes: Iterable[int | None]
) -> None:
    """Replace his entries (see ``perpetrator_entries``)."""
    index_replace_all(
        obj=perpetrator,
        data_key_id=perpetrator.data_key_id,
        values=perpetrator_entries(perpetrator, unit_id=unit_id, communes=communes),
    )


def index_new_case(
    survivor: Survivor,
    perpetrators: Iterable[Perpetrator],
    *,
    unit_id: int,
    communes: Iterable[int | None],
) -> None:
    """Index a case's new survivor record and the men it names, in one insert (they have
    no entries yet: nothing to delete)."""
    where = list(communes)
    blind_index.index_new(
        [
            (survivor, survivor.data_key_id, survivor_entries(survivor, unit_id=unit_id)),
            *(
                (p, p.data_key_id, perpetrator_entries(p, unit_id=unit_id, communes=where))
                for p in perpetrators
            ),
        ]
    )


# --- matching -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class SurvivorQuery:
    """What is known of her at the desk; any part may be empty."""

    full_name: str = ""
    phone: str = ""
    cin: str = ""
    date_of_birth: date | None = None
    age_range: str = ""
    commune_id: int | None = None


@dataclass(frozen=True, slots=True)
class CaseMatch:
    """A file of the searching unit itself: she may open it (through ``case_get``)."""

    case: CaseFile
    reasons: frozenset[MatchReason]

    @property
    def strong(self) -> bool:
        return bool(self.reasons & STRONG_REASONS)


@dataclass(frozen=True, slots=True)
class UnitMatch:
    """Another unit holds a matching file: which unit to contact, and nothing else."""

    agency_id: int
    name_ar: str
    name_fr: str
    strong: bool


@dataclass(slots=True)
class SearchResult:
    own: list[CaseMatch] = field(default_factory=list)
    elsewhere: list[UnitMatch] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return bool(self.own or self.elsewhere)


def _content_type(model: type[Model]) -> ContentType:
    return ContentType.objects.get_for_model(model, for_concrete_model=True)


def _entries_table() -> tuple[str, str, str, str, str]:
    # Names fixed by core.BlindIndexEntry (db_table and columns).
    return ("core_blindindexentry", "purpose", "digest", "content_type_id", "object_id")


def _criteria_sql(
    criteria: dict[tuple[BlindIndex, MatchReason], list[str]],
) -> tuple[list[str], list[Any], dict[tuple[str, bytes], MatchReason]]:
    """``(purpose = %s AND digest IN (…))`` per purpose, their parameters, and the reason
    each digest stands for."""
    _, purpose, digest, _, _ = _entries_table()
    clauses: list[str] = []
    params: list[Any] = []
    reasons: dict[tuple[str, bytes], MatchReason] = {}
    by_purpose: dict[str, list[bytes]] = defaultdict(list)
    for (index, reason), terms in criteria.items():
        for term in terms:
            if not term:
                continue
            value = index.digest_term(term)
            reasons[(index.purpose, value)] = reason
            by_purpose[index.purpose].append(value)
    for name, digests in by_purpose.items():
        unique = list(dict.fromkeys(digests))
        clauses.append(f"({purpose} = %s AND {digest} IN ({', '.join(['%s'] * len(unique))}))")
        params.extend([name, *unique])
    return clauses, params, reasons


def _matching_objects(
    model: type[Model], criteria: dict[tuple[BlindIndex, MatchReason], list[str]]
) -> dict[uuid.UUID, set[MatchReason]]:
    """Records of ``model`` with an entry equal to any criterion, with the reasons found.

    One query: a bitmap OR over the ``(purpose, digest, content type)`` index. Plain SQL
    (the same statement the ORM wrote): building it through the ORM cost more than running
    it, on every look-up at the desk.
    """
    clauses, params, reasons = _criteria_sql(criteria)
    if not reasons:
        return {}
    table, _, _, content_type, object_id = _entries_table()
    sql = (
        f"SELECT purpose, digest, {object_id} FROM {table} "  # noqa: S608  # nosec B608
        f"WHERE ({' OR '.join(clauses)}) AND {content_type} = %s LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, _content_type(model).pk, MAX_ENTRIES])
        rows = cursor.fetchall()
    found: dict[uuid.UUID, set[MatchReason]] = defaultdict(set)
    for purpose, digest, object_id in rows:
        reason = reasons.get((purpose, bytes(digest)))
        if reason is not None:
            found[uuid.UUID(object_id)].add(reason)
    return found


def _ages_compatible(a: str, b: str) -> bool:
    return not a or not b or AgeRange.UNKNOWN in (a, b) or a == b


def _survivor_criteria(query: SurvivorQuery) -> dict[tuple[BlindIndex, MatchReason], list[str]]:
    criteria: dict[tuple[BlindIndex, MatchReason], list[str]] = {}
    if query.phone and (phone := normalize_phone(query.phone)):
        criteria[(SURVIVOR_PHONE, MatchReason.PHONE)] = [phone]
    if query.cin and (cin := normalize_cin(query.cin)):
        criteria[(SURVIVOR_CIN, MatchReason.CIN)] = [cin]
    terms = match_terms(
        query.full_name, date_of_birth=query.date_of_birth, communes=[query.commune_id]
    )
    for reason, group in terms.items():
        criteria[(SURVIVOR_MATCH, reason)] = group
    return criteria


def _as_uuid(value: object) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _as_datetime(value: object) -> datetime:
    if isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(str(value))  # SQLite: text, always UTC (USE_TZ)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _files_of(
    survivor_ids: list[uuid.UUID],
) -> list[tuple[uuid.UUID, int, uuid.UUID, str, str, str, datetime, str]]:
    """``(case, unit, survivor, her age range, unit names, opened, reference)`` of her files:
    ids, units and references only, nothing sealed. Plain SQL over the same joins the ORM
    would write (its statement building was a third of a look-up's time)."""
    # Table names fixed by the models (cases.CaseFile, cases.Survivor, network.Agency).
    sql = (
        "SELECT c.id, c.unit_id, c.survivor_id, s.age_range, u.name_ar, u.name_fr, "  # noqa: S608  # nosec B608
        "c.created_at, c.reference FROM cases_casefile c "
        "JOIN cases_survivor s ON s.id = c.survivor_id "
        "JOIN network_agency u ON u.id = c.unit_id "
        f"WHERE c.survivor_id IN ({', '.join(['%s'] * len(survivor_ids))})"
    )
    target = CaseFile._meta.get_field("survivor").target_field
    params = [target.get_db_prep_value(pk, connection) for pk in survivor_ids]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [
        (_as_uuid(c), int(u), _as_uuid(s), str(age), str(ar), str(fr), _as_datetime(at), str(ref))
        for c, u, s, age, ar, fr, at, ref in rows
    ]


@dataclass(slots=True)
class _Found:
    """What the first two queries of a survivor search found: the searching unit's files
    (reasons, opening time, reference) and the other units."""

    own: dict[uuid.UUID, frozenset[MatchReason]] = field(default_factory=dict)
    opened: dict[uuid.UUID, datetime] = field(default_factory=dict)
    references: dict[uuid.UUID, str] = field(default_factory=dict)
    elsewhere: list[UnitMatch] = field(default_factory=list)

    def chosen_own(self) -> list[uuid.UUID]:
        """Strong matches first, then the newest, chosen BEFORE cutting to MAX_OWN: with a
        common name, a unit holds more than MAX_OWN files sharing it, and the file that is
        very probably her (same phone, CIN, or name and date of birth) must not be crowded
        out by newer files that only share her name."""
        own, opened = self.own, self.opened
        newest_first = sorted(own, key=lambda pk: (opened[pk], pk), reverse=True)
        return sorted(newest_first, key=lambda pk: not own[pk] & STRONG_REASONS)[:MAX_OWN]


def _find(
    query: SurvivorQuery,
    *,
    unit_id: int,
    exclude_survivor_ids: Iterable[uuid.UUID],
    extra_own: dict[uuid.UUID, set[MatchReason]] | None,
) -> _Found:
    found = _matching_objects(Survivor, _survivor_criteria(query))
    for survivor_id, reasons in (extra_own or {}).items():
        found.setdefault(survivor_id, set()).update(reasons)
    for survivor_id in exclude_survivor_ids:
        found.pop(survivor_id, None)
    result = _Found()
    if not found:
        return result
    elsewhere: dict[int, UnitMatch] = {}
    for case_id, case_unit, survivor_id, age_range, name_ar, name_fr, created_at, ref in _files_of(
        list(found)
    ):
        reasons = set(found[survivor_id])
        if MatchReason.NAME_AND_COMMUNE in reasons and not _ages_compatible(
            query.age_range, age_range
        ):
            reasons.discard(MatchReason.NAME_AND_COMMUNE)
        if case_unit == unit_id:
            if reasons:
                result.own[case_id] = frozenset(reasons)
                result.opened[case_id] = created_at
                result.references[case_id] = ref
            continue
        # A bare name never crosses units (module docstring).
        reasons.discard(MatchReason.NAME)
        if not reasons:
            continue
        strong = bool(reasons & STRONG_REASONS)
        known = elsewhere.get(case_unit)
        if known is None or (strong and not known.strong):
            elsewhere[case_unit] = UnitMatch(
                agency_id=case_unit, name_ar=name_ar, name_fr=name_fr, strong=strong
            )
    result.elsewhere = sorted(elsewhere.values(), key=lambda m: (not m.strong, m.agency_id))
    return result


def survivor_matches(
    query: SurvivorQuery,
    *,
    unit_id: int,
    exclude_survivor_ids: Iterable[uuid.UUID] = (),
    extra_own: dict[uuid.UUID, set[MatchReason]] | None = None,
) -> SearchResult:
    """Files whose survivor matches ``query``: full matches in ``unit_id``, units elsewhere.

    Three queries whatever the size of the database: the digests, the files they point at
    (ids and units only), and the searching unit's own files with her sealed record.
    Not scoped to an actor: callers (selectors, services) check the policy first.
    """
    found = _find(
        query, unit_id=unit_id, exclude_survivor_ids=exclude_survivor_ids, extra_own=extra_own
    )
    result = SearchResult(elsewhere=found.elsewhere)
    if found.own:
        chosen = found.chosen_own()
        cases = CaseFile.objects.filter(pk__in=chosen).select_related(
            "survivor", "survivor__data_key", "assigned_to"
        )
        by_pk = {case.pk: case for case in cases}
        result.own = [
            CaseMatch(case=by_pk[pk], reasons=found.own[pk]) for pk in chosen if pk in by_pk
        ]
    return result


@dataclass(frozen=True, slots=True)
class PriorContact:
    """What a new case's intake records of her earlier contact: the references of the
    unit's own earlier files (strong matches first, then the newest) and the other units."""

    own_references: list[str]
    elsewhere: list[UnitMatch]

    @property
    def found(self) -> bool:
        return bool(self.own_references or self.elsewhere)


def prior_contact(
    query: SurvivorQuery, *, unit_id: int, exclude_survivor_ids: Iterable[uuid.UUID]
) -> PriorContact:
    """``survivor_matches`` for an intake, which keeps only the own files' references: the
    same two first queries (the references ride along in the second), and not the third
    that loads each file with her sealed record."""
    found = _find(query, unit_id=unit_id, exclude_survivor_ids=exclude_survivor_ids, extra_own=None)
    return PriorContact(
        own_references=[found.references[pk] for pk in found.chosen_own()] if found.own else [],
        elsewhere=found.elsewhere,
    )


def survivors_by_name_in_unit(full_name: str, *, unit_id: int) -> dict[uuid.UUID, set[MatchReason]]:
    """Her files in one unit whose indexed name holds every token typed (in any order and
    either script), or the whole name. One grouped query on the unit-scoped digests."""
    tokens = _tokens(full_name)
    if not tokens:
        return {}
    digests = list(
        dict.fromkeys(SURVIVOR_NAME.digest_term(f"t:{unit_id}:{token}") for token in tokens)
    )
    table, purpose, digest, content_type, object_id = _entries_table()
    # Counting object_id, not id: the lookup index covers it, so the count reads the index
    # alone (PostgreSQL index-only scan). Plain SQL, as in ``_matching_objects``.
    sql = (
        f"SELECT {object_id} FROM {table} "  # noqa: S608  # nosec B608
        f"WHERE {purpose} = %s AND {digest} IN ({', '.join(['%s'] * len(digests))}) "
        f"AND {content_type} = %s GROUP BY {object_id} HAVING count({object_id}) = %s LIMIT %s"
    )
    params: list[Any] = [SURVIVOR_NAME.purpose, *digests, _content_type(Survivor).pk]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, len(digests), MAX_ENTRIES])
        rows = cursor.fetchall()
    return {uuid.UUID(row[0]): {MatchReason.NAME} for row in rows}


# --- repeat perpetrators ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PerpetratorMatch:
    """Another survivor's file naming (very probably) the same man."""

    case_id: uuid.UUID
    unit_id: int
    reasons: frozenset[MatchReason]


def perpetrator_matches(
    *,
    perpetrator: Perpetrator,
    communes: Iterable[int | None],
    survivor: Survivor,
) -> list[PerpetratorMatch]:
    """Files of *other survivors* naming a man who matches ``perpetrator`` by phone, CIN, or
    whole name in a commune of the case (ages compatible).

    A file of the same woman (same survivor record, or another record of hers found by her
    own phone, CIN or name and date of birth) is not a repeat: it is her coming back.
    Four queries whatever the size of the database.
    """
    criteria: dict[tuple[BlindIndex, MatchReason], list[str]] = {}
    if phone := normalize_phone(_plain(perpetrator.phone)):
        criteria[(PERPETRATOR_PHONE, MatchReason.PHONE)] = [phone]
    if cin := normalize_cin(_plain(perpetrator.cin)):
        criteria[(PERPETRATOR_CIN, MatchReason.CIN)] = [cin]
    for reason, group in match_terms(_plain(perpetrator.full_name), communes=communes).items():
        criteria[(PERPETRATOR_MATCH, reason)] = group
    found = _matching_objects(Perpetrator, criteria)
    found.pop(perpetrator.pk, None)
    if not found:
        return []
    rows = _men_in_other_files(list(found), case_id=perpetrator.case_id, survivor_id=survivor.pk)
    candidates: list[tuple[uuid.UUID, int, uuid.UUID, frozenset[MatchReason]]] = []
    for pk, case_id, unit_id, survivor_id, age_range in rows:
        kept = set(found[pk])
        if MatchReason.NAME_AND_COMMUNE in kept and not _ages_compatible(
            perpetrator.age_range, age_range
        ):
            kept.discard(MatchReason.NAME_AND_COMMUNE)
        if kept:
            candidates.append((case_id, unit_id, survivor_id, frozenset(kept)))
    if not candidates:
        return []
    same_woman = _same_woman(survivor, {survivor_id for _, _, survivor_id, _ in candidates})
    matches: dict[uuid.UUID, PerpetratorMatch] = {}
    for case_id, unit_id, survivor_id, reasons in candidates:
        if survivor_id in same_woman:
            continue
        known = matches.get(case_id)
        merged = reasons | (known.reasons if known else frozenset())
        matches[case_id] = PerpetratorMatch(case_id=case_id, unit_id=unit_id, reasons=merged)
    return list(matches.values())


def _men_in_other_files(
    ids: list[uuid.UUID], *, case_id: uuid.UUID, survivor_id: uuid.UUID
) -> list[tuple[uuid.UUID, uuid.UUID, int, uuid.UUID, str]]:
    """``(man, case, unit, survivor, his age range)`` of the men ``ids`` named in files
    other than ``case_id`` and not hers (``survivor_id``). Plain SQL, the statement the ORM
    wrote (as ``_files_of``: building it cost more than running it, on every intake)."""
    # Table names fixed by the models (cases.Perpetrator, cases.CaseFile).
    sql = (
        "SELECT p.id, p.case_id, c.unit_id, c.survivor_id, p.age_range "  # noqa: S608  # nosec B608
        "FROM cases_perpetrator p JOIN cases_casefile c ON c.id = p.case_id "
        f"WHERE p.id IN ({', '.join(['%s'] * len(ids))}) "
        "AND NOT (p.case_id = %s) AND NOT (c.survivor_id = %s)"
    )
    man_pk = Perpetrator._meta.get_field("id")
    case_pk = CaseFile._meta.get_field("id")
    params = [
        *(man_pk.get_db_prep_value(pk, connection) for pk in ids),
        case_pk.get_db_prep_value(case_id, connection),
        CaseFile._meta.get_field("survivor").target_field.get_db_prep_value(
            survivor_id, connection
        ),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [
        (_as_uuid(pk), _as_uuid(case), int(unit), _as_uuid(her), str(age))
        for pk, case, unit, her, age in rows
    ]


def _same_woman(survivor: Survivor, others: set[uuid.UUID]) -> set[uuid.UUID]:
    """Which of ``others`` are very probably ``survivor`` herself (strong digests only)."""
    query = SurvivorQuery(
        full_name=_plain(survivor.full_name),
        phone=_plain(survivor.phone),
        cin=_plain(survivor.cin),
        date_of_birth=_parse_date(survivor.date_of_birth),
    )
    strong: dict[tuple[BlindIndex, MatchReason], list[str]] = {
        key: terms for key, terms in _survivor_criteria(query).items() if key[1] in STRONG_REASONS
    }
    clauses, params, reasons = _criteria_sql(strong)
    if not reasons:
        return set()
    table, _, _, content_type, object_id = _entries_table()
    # Plain SQL, the statement the ORM wrote (see ``_matching_objects``).
    sql = (
        f"SELECT {object_id} FROM {table} "  # noqa: S608  # nosec B608
        f"WHERE ({' OR '.join(clauses)}) AND {content_type} = %s "
        f"AND {object_id} IN ({', '.join(['%s'] * len(others))})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, _content_type(Survivor).pk, *(str(pk) for pk in others)])
        rows = cursor.fetchall()
    return {uuid.UUID(row[0]) for row in rows}


def describe(reasons: Iterable[MatchReason]) -> list[str]:
    """Reasons as plain codes for audit metadata and timeline entries (never values)."""
    return sorted(str(reason) for reason in reasons)
