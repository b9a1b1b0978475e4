"""Bulk generator of synthetic case files for the benchmarks (issue 4, "Performance").

    .venv/bin/python bench/generate.py --cases 1000000 --database sqlite   # or postgresql
    .venv/bin/python bench/generate.py --drop --database sqlite            # remove it
    .venv/bin/python bench/generate.py --repair --database sqlite          # after a kill

Creates, in a scratch database (``bench/common.py``), the geography, the demo service
network, staff for every police unit, then ``N`` case files the way the services would
leave them, but written in bulk (``executemany`` on SQLite, ``COPY`` on PostgreSQL) instead
of one request at a time:

* every survivor and every named perpetrator has her/his own data key, AES-256-GCM wrapped
  by the scratch master key (``core.crypto.wrap_data_key``); every sealed field is sealed
  with ``core.crypto.seal`` under that key and the field's own context, so the data is
  realistic in size and opens through the models like any other record;
* blind-index entries are the real digests of the real purposes and terms of
  ``cases.search`` (phone, CIN, unit-scoped name tokens and whole name, compound match keys),
  for survivors and perpetrators;
* cases are spread over the demo network's 132 police units in proportion to the women
  living in the communes each unit is the nearest to (``network.routing``), her residence
  drawn from those communes by population; incidents follow the police's 2020 split of
  forms (physical 44 %, economic 26 %, psychological 20 %, sexual 9 %,
  technology-facilitated 1 %); perpetrators, timeline entries, open tasks (for the overdue
  queue) and the per-unit reference counters are written too;
* about 3 % of cases are a woman coming back (a new file, often in another unit, with the
  same name, phone, CIN and date of birth), about 2 % name a man already named by another
  survivor: duplicate and repeat detection have something to find.

Every name is synthetic: common Moroccan given and family names combined at random, plus
made-up family names; phones and CINs are random. No real person is described.

Also written, for the benchmarks' baselines only: ``bench_plaintext_baseline``, the same
look-up keys in plaintext indexed columns (phone, CIN, phonetic name key, date of birth,
unit). It exists only in the scratch database; Himaya never stores these in clear.

Audit events are not generated (the chain's append cost does not depend on its length).
Generation is deterministic for a seed except for keys and nonces, which are random.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import hmac
import itertools
import json
import os
import random
import signal
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from multiprocessing import get_context
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common

BATCH = 2000
#: From this many new cases on, secondary indexes are dropped during the load.
BIG_LOAD = 100_000
BASELINE_TABLE = "bench_plaintext_baseline"
YEARS = 6

# --- synthetic names ----------------------------------------------------------------------

#: (Latin, Arabic) spellings of common women's given names; earlier ones are more frequent.
GIVEN_NAMES: tuple[tuple[str, str], ...] = (
    ("Fatima", "فاطمة"),
    ("Khadija", "خديجة"),
    ("Aicha", "عائشة"),
    ("Naima", "نعيمة"),
    ("Malika", "مليكة"),
    ("Zineb", "زينب"),
    ("Amina", "أمينة"),
    ("Meryem", "مريم"),
    ("Hafsa", "حفصة"),
    ("Salma", "سلمى"),
    ("Nadia", "نادية"),
    ("Latifa", "لطيفة"),
    ("Rachida", "رشيدة"),
    ("Samira", "سميرة"),
    ("Karima", "كريمة"),
    ("Houda", "هدى"),
    ("Siham", "سهام"),
    ("Loubna", "لبنى"),
    ("Hanane", "حنان"),
    ("Imane", "إيمان"),
    ("Asmae", "أسماء"),
    ("Sanae", "سناء"),
    ("Souad", "سعاد"),
    ("Ilham", "إلهام"),
    ("Wafae", "وفاء"),
    ("Hayat", "حياة"),
    ("Zahra", "زهرة"),
    ("Ghizlane", "غزلان"),
    ("Kawtar", "كوثر"),
    ("Oumaima", "أميمة"),
    ("Chaimae", "شيماء"),
    ("Yasmine", "ياسمين"),
    ("Hind", "هند"),
    ("Najat", "نجاة"),
    ("Saida", "سعيدة"),
    ("Touria", "ثريا"),
    ("Halima", "حليمة"),
    ("Rabia", "ربيعة"),
    ("Jamila", "جميلة"),
    ("Soukaina", "سكينة"),
    ("Nora", "نورة"),
    ("Safae", "صفاء"),
    ("Ikram", "إكرام"),
    ("Dounia", "دنيا"),
    ("Btissam", "ابتسام"),
    ("Mariam", "مريام"),
    ("Sara", "سارة"),
    ("Widad", "وداد"),
)
MEN_NAMES: tuple[tuple[str, str], ...] = (
    ("Mohamed", "محمد"),
    ("Ahmed", "أحمد"),
    ("Abdellah", "عبد الله"),
    ("Youssef", "يوسف"),
    ("Hassan", "حسن"),
    ("Mustapha", "مصطفى"),
    ("Rachid", "رشيد"),
    ("Said", "سعيد"),
    ("Khalid", "خالد"),
    ("Omar", "عمر"),
    ("Hamid", "حميد"),
    ("Karim", "كريم"),
    ("Mehdi", "مهدي"),
    ("Aziz", "عزيز"),
    ("Driss", "إدريس"),
    ("Jamal", "جمال"),
    ("Nabil", "نبيل"),
    ("Adil", "عادل"),
    ("Hicham", "هشام"),
    ("Brahim", "إبراهيم"),
)
FAMILY_NAMES: tuple[tuple[str, str], ...] = (
    ("Alaoui", "العلوي"),
    ("Idrissi", "الإدريسي"),
    ("Bennani", "بناني"),
    ("Tazi", "التازي"),
    ("Fassi", "الفاسي"),
    ("Berrada", "برادة"),
    ("Benjelloun", "بنجلون"),
    ("Chraibi", "الشرايبي"),
    ("Amrani", "العمراني"),
    ("Benali", "بنعلي"),
    ("Lahlou", "لحلو"),
    ("Kettani", "الكتاني"),
    ("Ouazzani", "الوزاني"),
    ("Belhaj", "بلحاج"),
    ("Naciri", "الناصري"),
    ("Filali", "الفيلالي"),
    ("Hassani", "الحسني"),
    ("Bouazza", "بوعزة"),
    ("Mansouri", "المنصوري"),
    ("Ziani", "الزياني"),
    ("Khatib", "الخطيب"),
    ("Tahiri", "الطاهري"),
    ("Amzil", "أمزيل"),
    ("Bakkali", "البقالي"),
    ("Jabri", "الجابري"),
    ("Haddad", "الحداد"),
    ("Cherkaoui", "الشرقاوي"),
    ("Zerouali", "الزروالي"),
    ("Slimani", "السليماني"),
    ("Saidi", "السعيدي"),
    ("Karimi", "الكريمي"),
    ("Hamdaoui", "الحمداوي"),
    ("Rifi", "الريفي"),
    ("Soussi", "السوسي"),
    ("Doukkali", "الدكالي"),
    ("Marrakchi", "المراكشي"),
    ("Bouzidi", "البوزيدي"),
    ("Benkirane", "بنكيران"),
    ("Ghazali", "الغزالي"),
    ("Moussaoui", "الموساوي"),
    ("Naji", "ناجي"),
    ("Lamrani", "اللمراني"),
    ("Ouali", "والي"),
    ("Sabri", "صبري"),
    ("Kabbaj", "القباج"),
    ("Skalli", "السقلي"),
    ("Touimi", "التويمي"),
    ("Ennaji", "الناجي"),
    ("Rahmouni", "الرحموني"),
    ("Hajji", "الحجي"),
)
#: Syllables for the long tail of made-up family names (Latin script only).
_SYLLABLE_TEXT = (
    "ba bou da di fa ha ja ka ki la lou ma mi na ni ou ra ri sa si ta tou za zi "
    "bel ben dar fil gha ham kar mah mes nas rah sal tah wal yas zer"
)
_SYLLABLES = tuple(_SYLLABLE_TEXT.split())


def _weights(n: int, skew: float = 0.9) -> list[float]:
    """Zipf-like weights: a few names are very common, as in real life."""
    return list(itertools.accumulate(1 / (rank + 1) ** skew for rank in range(n)))


_GIVEN_CUM = _weights(len(GIVEN_NAMES))
_FAMILY_CUM = _weights(len(FAMILY_NAMES), 0.6)
_MEN_CUM = _weights(len(MEN_NAMES))


def _pick[T](rng: random.Random, items: Sequence[T], cumulative: Sequence[float]) -> T:
    return items[bisect.bisect(cumulative, rng.random() * cumulative[-1])]


def a_man(rng: random.Random, phone_prefixes: Sequence[str]) -> tuple[str, str, str, str]:
    """A man a survivor names: ``(name, phone, CIN, age range)``, each possibly unknown
    (empty), drawn as the generated files draw them (``bench_intake_http`` names its men
    the same way)."""
    given = _pick(rng, MEN_NAMES, _MEN_CUM)
    family = _pick(rng, FAMILY_NAMES, _FAMILY_CUM)
    arabic = rng.random() < 0.5
    name = f"{given[1]} {family[1]}" if arabic else f"{given[0]} {family[0]}"
    phone = (
        f"+212{rng.choice(phone_prefixes)}{rng.randrange(10**6):06d}" if rng.random() < 0.4 else ""
    )
    cin = f"{rng.choice(CIN_LETTERS)}{rng.randrange(1, 10**6)}" if rng.random() < 0.2 else ""
    age = rng.choice(("18-24", "25-34", "35-44", "45-59", "unknown"))
    return (name if rng.random() < 0.85 else ""), phone, cin, age


# --- what the generator needs from the database --------------------------------------------

#: 2020 police-recorded split of forms of violence (DOMAIN.md).
FORM_SPLIT = (
    ("physical", 0.44),
    ("economic", 0.26),
    ("psychological", 0.20),
    ("sexual", 0.09),
    ("technology", 0.01),
)
_FORM_CUM = list(itertools.accumulate(w for _, w in FORM_SPLIT))
RELATIONSHIPS = (
    ("spouse", 0.50),
    ("ex_spouse", 0.10),
    ("family", 0.15),
    ("fiance", 0.03),
    ("acquaintance", 0.07),
    ("stranger", 0.06),
    ("colleague", 0.02),
    ("employer", 0.02),
    ("online", 0.02),
    ("declined", 0.03),
)
_REL_CUM = list(itertools.accumulate(w for _, w in RELATIONSHIPS))
CHANNELS = (
    ("walk_in", 0.55),
    ("focal_point", 0.2),
    ("helpline", 0.1),
    ("online", 0.05),
    ("hospital", 0.05),
    ("ngo", 0.03),
    ("prosecutor", 0.02),
)
_CHANNEL_CUM = list(itertools.accumulate(w for _, w in CHANNELS))
_CIN_TEXT = (
    "A B BE BH BJ BK BL C CB CD D DA E EE F FA G GA H HA I IA J JA JB JC JE K L LA M N P "
    "PA Q R S SH T TA U UA V W WA X Y Z ZT"
)
#: Letters that begin Moroccan CINs (the numbers are random).
CIN_LETTERS = tuple(_CIN_TEXT.split())
NARRATIVE_FR = (
    "Elle déclare avoir été frappée au domicile conjugal.",
    "Les faits se répètent depuis plusieurs mois.",
    "Il lui retire son salaire et refuse de payer les dépenses du foyer.",
    "Elle a reçu des menaces par téléphone.",
    "Les enfants étaient présents.",
    "Elle souhaite être orientée vers un centre d'écoute.",
    "Un certificat médical a été délivré par l'hôpital.",
    "Elle craint pour sa sécurité si elle rentre ce soir.",
)
NARRATIVE_AR = (
    "صرحت بأنها تعرضت للضرب في بيت الزوجية.",
    "تتكرر الأفعال منذ عدة أشهر.",
    "يأخذ أجرها ويرفض الإنفاق على البيت.",
    "تلقت تهديدات عبر الهاتف.",
    "كان الأطفال حاضرين.",
    "ترغب في توجيهها إلى مركز للاستماع.",
    "سلمها المستشفى شهادة طبية.",
    "تخشى على سلامتها إن عادت الليلة.",
)
TASKS = (
    "Rappeler pour le suivi",
    "Transmettre le certificat médical",
    "Préparer l'orientation vers le centre d'hébergement",
    "متابعة الشكاية مع النيابة العامة",
)


@dataclass(slots=True)
class Unit:
    id: int
    weight: float
    chief_id: int
    officer_ids: list[int]
    communes: list[int]
    commune_cum: list[float]


@dataclass(slots=True)
class World:
    """Everything a worker needs to build rows, loaded once (inherited by forked workers)."""

    vendor: str
    units: list[Unit]
    unit_cum: list[float]
    survivor_ct: int
    perpetrator_ct: int
    master_kid: str
    master_kid_bytes: bytes
    master_secret: bytes
    digest_keys: dict[str, bytes]
    contexts: dict[str, bytes]
    phone_prefixes: list[str]
    now: datetime
    #: Columns the generator does not set (added to the models later), with their default.
    extras: dict[str, tuple[tuple[str, ...], tuple[Any, ...]]] = field(default_factory=dict)
    #: Per (unit id, year): the last reference number used (filled by the writer).
    counters: Counter[tuple[int, int]] = field(default_factory=Counter)


def _unit_weights() -> dict[int, tuple[float, list[tuple[int, float]]]]:
    """Women each police unit serves, and the communes they live in: a commune with units in
    it is shared by them (big cities have several); any other goes to its nearest unit."""
    from himaya.geo.models import Commune
    from himaya.network import index, routing
    from himaya.network.models import Agency, AgencyKind

    index.invalidate()
    located: dict[int, list[int]] = {}
    for unit_id, commune_id in Agency.objects.filter(
        kind=AgencyKind.POLICE_UNIT, is_active=True, commune__isnull=False
    ).values_list("id", "commune_id"):
        located.setdefault(commune_id, []).append(unit_id)
    result: dict[int, tuple[float, list[tuple[int, float]]]] = {}
    for commune in Commune.objects.only("id", "code", "population_total", "population_women"):
        women = float(commune.population_women or commune.population_total / 2 or 1)
        units = located.get(commune.id)
        if units is None:
            answer = routing.nearest_unit(routing.origin_from_commune(commune.code))
            if answer.unit is None:
                continue
            units = [answer.unit.agency.id]
        for unit_id in units:
            share = women / len(units)
            weight, communes = result.get(unit_id, (0.0, []))
            communes.append((commune.id, share))
            result[unit_id] = (weight + share, communes)
    return result


def _ensure_network(say: Callable[[str], None]) -> None:
    from himaya.demo.network import build_network
    from himaya.geo.loader import load_geography
    from himaya.geo.models import Commune
    from himaya.network.models import Agency, AgencyKind

    if not Commune.objects.exists():
        load_geography()
    if not Agency.objects.filter(kind=AgencyKind.POLICE_UNIT).exists():
        build_network()
        say("loaded geography and the demo network")


def _ensure_staff(weights: dict[int, float]) -> dict[int, tuple[int, list[int]]]:
    """One chief and 2-8 officers (busier units get more) per unit; bench accounts cannot
    sign in (unusable password): the benchmarks act through ``Actor``s and API tokens."""
    from django.contrib.auth.hashers import make_password

    from himaya.accounts.models import Membership, User
    from himaya.accounts.roles import Role

    heaviest = max(weights.values())
    wanted: list[tuple[str, int, str]] = []
    for unit_id, weight in sorted(weights.items()):
        wanted.append((f"bench.u{unit_id}.chief", unit_id, Role.UNIT_CHIEF))
        for k in range(2 + round(6 * weight / heaviest)):
            wanted.append((f"bench.u{unit_id}.officer{k}", unit_id, Role.UNIT_OFFICER))
    existing = set(
        User.objects.filter(username__startswith="bench.u").values_list("username", flat=True)
    )
    unusable = make_password(None)
    User.objects.bulk_create(
        [
            User(username=name, password=unusable, display_name=name)
            for name, _, _ in wanted
            if name not in existing
        ],
        batch_size=500,
    )
    ids = dict(User.objects.filter(username__startswith="bench.u").values_list("username", "id"))
    Membership.objects.bulk_create(
        [Membership(user_id=ids[name], agency_id=unit, role=role) for name, unit, role in wanted],
        ignore_conflicts=True,
        batch_size=500,
    )
    staff: dict[int, tuple[int, list[int]]] = {}
    for name, unit_id, role in wanted:
        chief, officers = staff.get(unit_id, (0, []))
        if role == Role.UNIT_CHIEF:
            chief = ids[name]
        else:
            officers.append(ids[name])
        staff[unit_id] = (chief, officers)
    return staff


def _phone_prefixes() -> list[str]:
    import phonenumbers

    prefixes = []
    for p in range(600, 800):
        numbers = (phonenumbers.parse(f"0{p}{s}", "MA") for s in ("000000", "504321", "999999"))
        if all(phonenumbers.is_valid_number(n) for n in numbers):
            prefixes.append(str(p))
    return prefixes


def _extra_columns() -> dict[str, tuple[tuple[str, ...], tuple[Any, ...]]]:
    """Columns of the generated tables that the generator does not fill, with the value their
    field's default gives, so a field added to a model later does not break the generator."""
    from django.apps import apps
    from django.db import connection, models

    extras: dict[str, tuple[tuple[str, ...], tuple[Any, ...]]] = {}
    by_table = {m._meta.db_table: m for m in apps.get_models()}
    for table, columns in TABLE_COLUMNS.items():
        model = by_table.get(table)
        if model is None:
            continue
        names: list[str] = []
        values: list[Any] = []
        for f in model._meta.concrete_fields:
            if f.column in columns or isinstance(f, models.AutoField | models.BigAutoField):
                continue
            if not f.has_default() and not f.null:
                raise RuntimeError(f"bench/generate.py does not fill {table}.{f.column}")
            default = f.get_default()
            if isinstance(f, models.JSONField):
                value: Any = json.dumps(default)
            else:
                value = f.get_db_prep_save(default, connection)
            names.append(str(f.column))
            values.append(value)
        if names:
            extras[table] = (tuple(names), tuple(values))
    return extras


def load_world(say: Callable[[str], None] = print) -> World:
    """Geography, network and staff (created when missing), and what the rows need."""
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection

    from himaya.cases import search
    from himaya.cases.models import CaseFile, Perpetrator, Survivor, Task
    from himaya.core.keystore import derived_key, get_keyring

    _ensure_network(say)
    by_unit = _unit_weights()
    staff = _ensure_staff({unit: weight for unit, (weight, _) in by_unit.items()})
    units = []
    for unit_id, (weight, communes) in sorted(by_unit.items()):
        chief, officers = staff[unit_id]
        units.append(
            Unit(
                id=unit_id,
                weight=weight,
                chief_id=chief,
                officer_ids=officers,
                communes=[c for c, _ in communes],
                commune_cum=list(itertools.accumulate(w for _, w in communes)),
            )
        )
    master = get_keyring().current
    purposes = [
        index.purpose
        for index in (
            search.SURVIVOR_PHONE,
            search.SURVIVOR_CIN,
            search.SURVIVOR_NAME,
            search.SURVIVOR_MATCH,
            search.PERPETRATOR_PHONE,
            search.PERPETRATOR_CIN,
            search.PERPETRATOR_NAME,
            search.PERPETRATOR_MATCH,
        )
    ]
    contexts = {
        f"{model.__name__}.{name}": getattr(model._meta.get_field(name), "context_bytes")  # noqa: B009
        for model, names in (
            (Survivor, ("full_name", "cin", "phone", "address", "date_of_birth", "safe_contact")),
            (CaseFile, ("narrative", "others_present")),
            (Perpetrator, ("full_name", "cin", "phone")),
            (Task, ("description",)),
        )
        for name in names
    }
    return World(
        extras=_extra_columns(),
        vendor=connection.vendor,
        units=units,
        unit_cum=list(itertools.accumulate(u.weight for u in units)),
        survivor_ct=ContentType.objects.get_for_model(Survivor).pk,
        perpetrator_ct=ContentType.objects.get_for_model(Perpetrator).pk,
        master_kid=master.kid,
        master_kid_bytes=master.kid_bytes,
        master_secret=master.secret,
        # The same derivation as BlindIndex.digest_term.
        digest_keys={p: derived_key(f"blind-index:{p}") for p in purposes},
        contexts=contexts,
        phone_prefixes=_phone_prefixes(),
        now=datetime.now(UTC).replace(minute=0, second=0, microsecond=0),
    )


# --- building rows (runs in worker processes: no database access here) ---------------------


@dataclass(slots=True)
class Person:
    """A survivor's identity, the same each time she comes back."""

    name: str
    alt_name: str
    phone: str
    cin: str
    born: date | None
    home_unit: int
    commune: int


@dataclass(slots=True)
class Batch:
    rows: dict[str, list[tuple[Any, ...]]]
    #: (row index in cases_casefile, unit id, year) for references assigned by the writer.
    references: list[tuple[int, int, int]]


TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "core_datakey": ("id", "kind", "master_key_id", "wrapped_key", "created_at", "shredded_at"),
    "cases_survivor": (
        "id",
        "data_key_id",
        "full_name",
        "cin",
        "phone",
        "address",
        "date_of_birth",
        "age_range",
        "residence_commune_id",
        "preferred_language",
        "safe_contact",
        "declined",
        "created_at",
    ),
    "cases_casefile": (
        "reference",
        "id",
        "unit_id",
        "survivor_id",
        "state",
        "assigned_to_id",
        "channel",
        "legal_basis",
        "narrative",
        "private_room",
        "interviewer_gender",
        "interviewer_gender_chosen",
        "interpreter_language",
        "others_present",
        "repeat_perpetrator",
        "idempotency_key",
        "created_by_id",
        "created_at",
        "updated_at",
        "closure_reason",
        "closed_at",
        "next_due_on",
    ),
    "cases_incident": (
        "case_id",
        "occurred_on",
        "occurred_from",
        "occurred_to",
        "commune_id",
        "forms",
        "acts",
        "gbvims_type",
        "context",
        "declined",
        "created_at",
    ),
    "cases_perpetrator": (
        "id",
        "case_id",
        "data_key_id",
        "full_name",
        "cin",
        "phone",
        "relationship",
        "age_range",
        "number_involved",
        "created_at",
    ),
    "cases_timelineentry": (
        "case_id",
        "at",
        "actor_id",
        "kind",
        "from_state",
        "to_state",
        "metadata",
    ),
    "cases_task": (
        "case_id",
        "description",
        "due_on",
        "assigned_to_id",
        "created_by_id",
        "created_at",
        "done_at",
    ),
    "core_blindindexentry": ("purpose", "digest", "data_key_id", "content_type_id", "object_id"),
    BASELINE_TABLE: (
        "survivor_id",
        "case_id",
        "unit_id",
        "phone",
        "cin",
        "name_key",
        "date_of_birth",
        "commune_id",
    ),
}
#: Parents first: the foreign keys hold at every commit.
TABLE_ORDER = tuple(TABLE_COLUMNS)


class _Builder:
    """Builds one batch of rows. Values come out ready for the database (``vendor``)."""

    def __init__(self, world: World, seed: int, start: int) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        from himaya.cases import search
        from himaya.cases.classification import classify
        from himaya.cases.intake import age_range_on
        from himaya.core import crypto
        from himaya.core.names import full_name_key, token_keys

        self.w = world
        self.rng = random.Random(seed * 1_000_003 + start)
        self.seed = seed
        self.sqlite = world.vendor == "sqlite"
        self.master = AESGCM(world.master_secret)
        self.aesgcm = AESGCM
        self.crypto = crypto
        self.classify = classify
        self.age_range_on = age_range_on
        self.token_keys = token_keys
        self.full_name_key = full_name_key
        self.search = search
        self.hmacs = {
            p: hmac.new(k, digestmod=hashlib.sha256) for p, k in world.digest_keys.items()
        }
        self.rows: dict[str, list[tuple[Any, ...]]] = {t: [] for t in TABLE_ORDER}
        self._random, self._offset = b"", 0
        self.references: list[tuple[int, int, int]] = []

    # values as the database stores them ------------------------------------------------

    def uid(self, value: uuid.UUID) -> Any:
        return value.hex if self.sqlite else value

    def dt(self, value: datetime | None) -> Any:
        if value is None or not self.sqlite:
            return value
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ")

    def day(self, value: date | None) -> Any:
        if value is None or not self.sqlite:
            return value
        return value.isoformat()

    def flag(self, value: bool) -> Any:
        return int(value) if self.sqlite else value

    @staticmethod
    def js(value: object) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    def urandom(self, n: int) -> bytes:
        """Key material and nonces from the OS, fetched 64 KiB at a time."""
        if self._offset + n > len(self._random):
            self._random, self._offset = os.urandom(65_536), 0
        self._offset += n
        return self._random[self._offset - n : self._offset]

    def new_uuid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    # keys, sealing, digests -----------------------------------------------------------

    def data_key(self, kind: str, at: datetime) -> tuple[uuid.UUID, Any]:
        key_id = self.new_uuid()
        raw = self.urandom(32)
        header = bytes([self.crypto.WRAP_VERSION]) + self.w.master_kid_bytes
        nonce = self.urandom(self.crypto.NONCE_BYTES)
        wrapped = (
            header
            + nonce
            + self.master.encrypt(nonce, raw, b"himaya/data-key/v1" + header + key_id.bytes)
        )
        self.rows["core_datakey"].append(
            (self.uid(key_id), kind, self.w.master_kid, wrapped, self.dt(at), None)
        )
        return key_id, self.crypto.OpenDataKey(id=key_id, aead=self.aesgcm(raw))

    def seal(self, value: object, key: Any, context: str) -> bytes | None:
        if value is None:
            return None
        plain = value if isinstance(value, str) else self.js(value)
        return self.crypto.seal(plain.encode("utf-8"), key=key, context=self.w.contexts[context])

    def digest(self, purpose: str, term: str) -> bytes:
        h = self.hmacs[purpose].copy()
        h.update(term.encode("utf-8"))
        return h.digest()[:16]

    def index(self, purpose: str, terms: list[str], key_id: uuid.UUID, ct: int, pk: str) -> None:
        table = self.rows["core_blindindexentry"]
        key = self.uid(key_id)
        for digest in sorted({self.digest(purpose, t) for t in terms if t}):
            table.append((purpose, digest, key, ct, pk))

    # people -----------------------------------------------------------------------------

    def person(self, identity: int) -> Person:
        """Her identity, derived from its number alone: the same each time she comes back."""
        rng = random.Random(self.seed * 7_919 + identity)
        given = _pick(rng, GIVEN_NAMES, _GIVEN_CUM)
        second = _pick(rng, GIVEN_NAMES, _GIVEN_CUM) if rng.random() < 0.15 else None
        if rng.random() < 0.5:
            family = _pick(rng, FAMILY_NAMES, _FAMILY_CUM)
        else:
            made_up = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3)))
            family = (made_up.capitalize(), "")
        arabic = rng.random() < 0.5 and family[1] != ""
        parts = [given, *([second] if second else []), family]
        latin = " ".join(p[0] for p in parts)
        name = " ".join(p[1] for p in parts) if arabic else latin
        alt = latin if arabic else (" ".join(p[1] for p in parts) if family[1] else latin)
        home = bisect.bisect(self.w.unit_cum, rng.random() * self.w.unit_cum[-1])
        unit = self.w.units[home]
        commune = unit.communes[
            bisect.bisect(unit.commune_cum, rng.random() * unit.commune_cum[-1])
        ]
        age_years = min(80, max(12, int(rng.gauss(32, 11))))
        born = (
            date(1950, 1, 1) + timedelta(days=rng.randrange(365)) if rng.random() < 0.85 else None
        )
        if born is not None:
            born = born.replace(year=self.w.now.year - age_years - 1)
        return Person(
            name=name,
            alt_name=alt,
            phone=(
                f"+212{rng.choice(self.w.phone_prefixes)}{rng.randrange(10**6):06d}"
                if rng.random() < 0.85
                else ""
            ),
            cin=(
                f"{rng.choice(CIN_LETTERS)}{rng.randrange(1, 10**6)}"
                if rng.random() < 0.7 and age_years >= 18
                else ""
            ),
            born=born,
            home_unit=home,
            commune=commune,
        )

    def man(self, identity: int) -> tuple[str, str, str, str]:
        return a_man(random.Random(self.seed * 104_729 + identity), self.w.phone_prefixes)

    # one case ---------------------------------------------------------------------------

    def case(self, i: int) -> None:  # noqa: PLR0912, PLR0915 - one linear recipe
        rng, w, search = self.rng, self.w, self.search
        identity = rng.randrange(i) if i > 0 and rng.random() < 0.03 else i
        her = self.person(identity)
        unit = (
            w.units[her.home_unit]
            if identity == i or rng.random() < 0.4
            else w.units[bisect.bisect(w.unit_cum, rng.random() * w.unit_cum[-1])]
        )
        # Reporting grows over the years: later cases are more frequent.
        age_days = int(YEARS * 365 * (1 - rng.random() ** 0.8))
        created = w.now - timedelta(days=age_days, seconds=rng.randrange(86_400))
        created = created.replace(microsecond=rng.randrange(1, 10**6))
        officer = rng.choice(unit.officer_ids)

        # Her record, sealed with her own key.
        key_id, key = self.data_key("survivor", created)
        survivor_id = self.new_uuid()
        name = her.name if identity == i or rng.random() < 0.5 else her.alt_name
        declined = [] if her.phone else ["phone"]
        age_range = self.age_range_on(her.born, created.date()) if her.born else "unknown"
        if her.born is None and rng.random() < 0.7:
            age_range = rng.choice(("18-24", "25-34", "35-44", "45-59"))
        safe = (
            {"channel": "phone", "safe_times": "9h-12h", "may_leave_message": False}
            if her.phone and rng.random() < 0.6
            else None
        )
        self.rows["cases_survivor"].append(
            (
                self.uid(survivor_id),
                self.uid(key_id),
                self.seal(name, key, "Survivor.full_name"),
                self.seal(her.cin, key, "Survivor.cin"),
                self.seal(her.phone, key, "Survivor.phone"),
                self.seal(
                    f"Rue {rng.randrange(1, 300)}, n° {rng.randrange(1, 99)}",
                    key,
                    "Survivor.address",
                ),
                self.seal(her.born.isoformat() if her.born else "", key, "Survivor.date_of_birth"),
                str(age_range),
                her.commune,
                rng.choice(("ar", "ary", "ary", "fr", "tzm", "shi")),
                self.seal(safe, key, "Survivor.safe_contact"),
                self.js(declined),
                self.dt(created),
            )
        )
        survivor_pk = str(survivor_id)
        tokens = sorted(set(self.token_keys(name)))
        full = "-".join(tokens)
        unit_terms = [*(f"t:{unit.id}:{t}" for t in tokens), f"f:{unit.id}:{full}"]
        match = search.match_terms(name, date_of_birth=her.born, communes=[her.commune])
        ct = w.survivor_ct
        self.index(search.SURVIVOR_PHONE.purpose, [her.phone], key_id, ct, survivor_pk)
        self.index(search.SURVIVOR_CIN.purpose, [her.cin], key_id, ct, survivor_pk)
        self.index(search.SURVIVOR_NAME.purpose, unit_terms, key_id, ct, survivor_pk)
        self.index(
            search.SURVIVOR_MATCH.purpose,
            [t for group in match.values() for t in group],
            key_id,
            ct,
            survivor_pk,
        )

        # The file: its state follows its age (old files are mostly closed).
        case_id = self.new_uuid()
        roll = rng.random()
        if age_days > 365:
            state = "closed" if roll < 0.95 else rng.choice(("referred", "forwarded"))
        elif age_days > 30:
            state = (
                "closed"
                if roll < 0.5
                else rng.choice(("assessed", "referred", "forwarded", "closure_requested"))
            )
        else:
            state = (
                "open"
                if roll < 0.6
                else rng.choice(("assessed", "referred", "forwarded", "closure_requested"))
            )
        assigned = None if state == "open" and rng.random() < 0.67 else officer
        closed_at = created + timedelta(days=rng.randrange(20, 200)) if state == "closed" else None
        if closed_at is not None and closed_at > w.now:
            closed_at = w.now
        next_due = None
        tasks: list[tuple[date, bool]] = []
        if state != "closed" and rng.random() < 0.35:
            due = (created + timedelta(days=rng.randrange(3, 60))).date()
            tasks.append((due, False))
            next_due = due
        channel = CHANNELS[bisect.bisect(_CHANNEL_CUM, rng.random() * _CHANNEL_CUM[-1])][0]
        narrative = " ".join(
            rng.sample(NARRATIVE_AR if rng.random() < 0.6 else NARRATIVE_FR, rng.randint(2, 6))
        )
        row_index = len(self.rows["cases_casefile"])
        self.references.append((row_index, unit.id, created.astimezone(UTC).year))
        updated = closed_at or created
        self.rows["cases_casefile"].append(
            (
                None,  # reference: numbered per unit and year by the writer
                self.uid(case_id),
                unit.id,
                self.uid(survivor_id),
                state,
                assigned,
                channel,
                "law",
                self.seal(narrative, key, "CaseFile.narrative"),
                rng.choice(("yes", "yes", "yes", "no", "")),
                rng.choice(("woman", "woman", "man", "")),
                self.flag(rng.random() < 0.3),
                "",
                self.seal("", key, "CaseFile.others_present"),
                self.flag(False),
                self.new_uuid().hex,
                officer,
                self.dt(created),
                self.dt(updated),
                rng.choice(("services_completed", "survivor_decided")) if closed_at else "",
                self.dt(closed_at),
                self.day(next_due),
            )
        )
        case_pk = self.uid(case_id)

        # Incidents: the first form follows the 2020 split.
        incident_communes = []
        for n in range(1 if rng.random() < 0.85 else rng.randint(2, 3)):
            form = FORM_SPLIT[bisect.bisect(_FORM_CUM, rng.random() * _FORM_CUM[-1])][0]
            forms = [form]
            if n == 0 and form != "psychological" and rng.random() < 0.25:
                forms.append("psychological")
            acts: list[str] = []
            if form == "sexual":
                acts = [rng.choice(("rape", "sexual_assault", "sexual_assault"))]
            context = {
                "technology": ["online"],
                "economic": ["intimate_partner", "family"],
            }.get(form, [rng.choice(("intimate_partner", "family", "public_space", "workplace"))])
            commune = her.commune if rng.random() < 0.8 else rng.choice(unit.communes)
            incident_communes.append(commune)
            occurred = (created - timedelta(days=rng.randrange(0, 90))).date()
            if her.born and occurred < her.born:
                occurred = created.date()
            self.rows["cases_incident"].append(
                (
                    case_pk,
                    self.day(occurred),
                    None,
                    None,
                    commune,
                    self.js(forms),
                    self.js(acts),
                    str(self.classify(forms=forms, acts=acts)),
                    self.js(context),
                    "[]",
                    self.dt(created),
                )
            )

        # Perpetrators: his own key; a few men are named by several women.
        repeat = False
        communes = [her.commune, *incident_communes]
        for _ in range(1 if rng.random() < 0.92 else 2):
            man_identity = i
            if i > 0 and rng.random() < 0.02:
                man_identity, repeat = rng.randrange(i), True
            his_name, his_phone, his_cin, his_age = self.man(man_identity)
            relationship = RELATIONSHIPS[bisect.bisect(_REL_CUM, rng.random() * _REL_CUM[-1])][0]
            his_key_id, his_key = self.data_key("person", created)
            perpetrator_id = self.new_uuid()
            self.rows["cases_perpetrator"].append(
                (
                    self.uid(perpetrator_id),
                    case_pk,
                    self.uid(his_key_id),
                    self.seal(his_name, his_key, "Perpetrator.full_name"),
                    self.seal(his_cin, his_key, "Perpetrator.cin"),
                    self.seal(his_phone, his_key, "Perpetrator.phone"),
                    relationship,
                    his_age,
                    1,
                    self.dt(created),
                )
            )
            pk, pct = str(perpetrator_id), w.perpetrator_ct
            his_tokens = sorted(set(self.token_keys(his_name)))
            his_terms = (
                [*(f"t:{unit.id}:{t}" for t in his_tokens), f"f:{unit.id}:{'-'.join(his_tokens)}"]
                if his_tokens
                else []
            )
            his_match = search.match_terms(his_name, communes=communes)
            self.index(search.PERPETRATOR_PHONE.purpose, [his_phone], his_key_id, pct, pk)
            self.index(search.PERPETRATOR_CIN.purpose, [his_cin], his_key_id, pct, pk)
            self.index(search.PERPETRATOR_NAME.purpose, his_terms, his_key_id, pct, pk)
            self.index(
                search.PERPETRATOR_MATCH.purpose,
                [t for group in his_match.values() for t in group],
                his_key_id,
                pct,
                pk,
            )
        if repeat:
            last = self.rows["cases_casefile"][-1]
            position = TABLE_COLUMNS["cases_casefile"].index("repeat_perpetrator")
            self.rows["cases_casefile"][-1] = (
                *last[:position],
                self.flag(True),
                *last[position + 1 :],
            )

        # Timeline (kinds and states only, as the services write them) and open tasks.
        timeline = self.rows["cases_timelineentry"]
        timeline.append(
            (
                case_pk,
                self.dt(created),
                officer,
                "opened",
                "",
                "open",
                self.js({"channel": channel}),
            )
        )
        if state != "open":
            moved = created + timedelta(days=rng.randrange(1, 15))
            target = "closure_requested" if state == "closed" else state
            timeline.append((case_pk, self.dt(moved), officer, "transition", "open", target, "{}"))
        if closed_at is not None:
            timeline.append(
                (
                    case_pk,
                    self.dt(closed_at),
                    unit.chief_id,
                    "closed",
                    "closure_requested",
                    "closed",
                    "{}",
                )
            )
        for due, done in tasks:
            self.rows["cases_task"].append(
                (
                    case_pk,
                    self.seal(rng.choice(TASKS), key, "Task.description"),
                    self.day(due),
                    officer,
                    officer,
                    self.dt(created),
                    None if not done else self.dt(created),
                )
            )

        self.rows[BASELINE_TABLE].append(
            (
                survivor_pk,
                str(case_id),
                unit.id,
                her.phone,
                her.cin,
                self.full_name_key(name),
                self.day(her.born),
                her.commune,
            )
        )


#: The world of this process (set by ``generate``, inherited by its forked workers).
_STATE: dict[str, World] = {}


def build_batch(seed: int, start: int, count: int) -> Batch:
    """Rows of cases ``start`` .. ``start + count - 1`` (in a worker: no database access)."""
    from himaya.cases import search
    from himaya.core import names

    if "world" not in _STATE:
        raise RuntimeError("load_world() first")
    builder = _Builder(_STATE["world"], seed, start)
    # Names repeat a lot: the phonetic keys of one spelling are computed once per batch
    # (the same function, memoised; put back afterwards).
    original = getattr(search, "token_keys")  # noqa: B009
    cached = functools.lru_cache(maxsize=1 << 16)(names.token_keys)
    setattr(search, "token_keys", cached)  # noqa: B010
    builder.token_keys = cached
    try:
        for i in range(start, start + count):
            builder.case(i)
    finally:
        setattr(search, "token_keys", original)  # noqa: B010
    return Batch(rows=builder.rows, references=builder.references)


# --- writing ------------------------------------------------------------------------------


def ensure_baseline_table() -> None:
    """The plaintext scratch table the baselines query (never part of Himaya's schema)."""
    from django.db import connection

    pk = (
        "integer PRIMARY KEY AUTOINCREMENT"
        if connection.vendor == "sqlite"
        else "bigserial PRIMARY KEY"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {BASELINE_TABLE} (id {pk}, survivor_id varchar(36), "
            "case_id varchar(36), unit_id integer, phone varchar(32), cin varchar(16), "
            "name_key varchar(200), date_of_birth date, commune_id integer)"
        )
        for name, columns in (
            ("phone", "phone"),
            ("cin", "cin"),
            ("name_dob", "name_key, date_of_birth"),
            ("unit_name", "unit_id, name_key"),
        ):
            cursor.execute(
                f"CREATE INDEX IF NOT EXISTS {BASELINE_TABLE}_{name} "
                f"ON {BASELINE_TABLE} ({columns})"
            )


class _Writer:
    def __init__(self, world: World) -> None:
        from django.db import connection

        self.world = world
        self.connection = connection
        self.counters = world.counters

    def number(self, batch: Batch) -> None:
        cases = batch.rows["cases_casefile"]
        for row_index, unit_id, year in batch.references:
            self.counters[(unit_id, year)] += 1
            reference = f"U{unit_id:04d}-{year}-{self.counters[(unit_id, year)]:05d}"
            cases[row_index] = (reference, *cases[row_index][1:])

    def write(self, batch: Batch) -> None:
        from django.db import transaction

        self.number(batch)
        with transaction.atomic():
            self.save_counters({(unit, year) for _, unit, year in batch.references})
            for table in TABLE_ORDER:
                rows = batch.rows[table]
                if not rows:
                    continue
                columns = TABLE_COLUMNS[table]
                if table in self.world.extras:
                    names, values = self.world.extras[table]
                    columns = (*columns, *names)
                    rows = [(*r, *values) for r in rows]
                self._insert(table, columns, rows)

    def _insert(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        names = ", ".join(columns)
        if self.world.vendor == "sqlite":
            marks = ", ".join("?" * len(columns))
            raw = self.connection.connection
            raw.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)  # noqa: S608  # nosec B608
            return
        with self.connection.cursor() as cursor:
            raw_cursor: Any = cursor.cursor
            with raw_cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for values in rows:
                    copy.write_row(values)

    def save_counters(self, touched: set[tuple[int, int]]) -> None:
        """The services number the next case after the highest generated reference (saved
        with each batch, so an interrupted generation resumes without clashes)."""
        from himaya.cases.models import UnitCounter

        table = UnitCounter._meta.db_table
        with self.connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {table} (unit_id, year, last) VALUES (%s, %s, %s) "  # noqa: S608  # nosec B608
                "ON CONFLICT (unit_id, year) DO UPDATE SET last = excluded.last",
                [(unit, year, self.counters[(unit, year)]) for unit, year in sorted(touched)],
            )


def _load_counters(world: World) -> None:
    from himaya.cases.models import UnitCounter

    for unit_id, year, last in UnitCounter.objects.values_list("unit_id", "year", "last"):
        world.counters[(unit_id, year)] = last


def _fast_session() -> None:
    """Bulk-load settings for this connection only (the data is a throw-away benchmark)."""
    from django.db import connection

    connection.ensure_connection()
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            # A crash mid-generation loses a scratch database, nothing else; WAL comes back
            # at the end (nobody else has the file open: the workers never touch it).
            cursor.execute("PRAGMA journal_mode=OFF")
            cursor.execute("PRAGMA synchronous=OFF")
            cursor.execute("PRAGMA cache_size=-1000000")
            cursor.execute("PRAGMA temp_store=MEMORY")
        else:
            cursor.execute("SET synchronous_commit = off")
            cursor.execute("SET maintenance_work_mem = '1GB'")
            # No per-row foreign-key triggers: the generator writes parents first and
            # consistent ids (needs the superuser of the scratch server, as in the bench).
            cursor.execute("SET session_replication_role = replica")


def _restore_session() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
        else:
            cursor.execute("SET synchronous_commit = on")
            cursor.execute("SET session_replication_role = origin")


#: Tables whose secondary (non-unique) indexes are dropped during a big load and built again
#: at the end: one sort per index instead of millions of random inserts into it.
_BIG_TABLES = (
    "core_blindindexentry",
    "cases_timelineentry",
    "cases_incident",
    "cases_perpetrator",
    "cases_survivor",
    "cases_casefile",
    "cases_task",
    "core_datakey",
    BASELINE_TABLE,
)


def _drop_secondary_indexes(tables: Sequence[str] = _BIG_TABLES) -> list[str]:
    """Drop the non-unique indexes of the big tables; returns the SQL that rebuilds them."""
    from django.db import connection

    definitions: list[tuple[str, str]] = []
    with connection.cursor() as cursor:
        for table in tables:
            if connection.vendor == "sqlite":
                cursor.execute(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s "
                    "AND sql IS NOT NULL",
                    [table],
                )
            else:
                cursor.execute(
                    "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [table]
                )
            definitions.extend(
                (name, sql) for name, sql in cursor.fetchall() if "UNIQUE" not in sql.upper()
            )
        for name, _ in definitions:
            cursor.execute(f'DROP INDEX "{name}"')
    return [sql for _, sql in definitions]


def _rebuild_indexes(definitions: list[str]) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for sql in definitions:
            cursor.execute(sql)


def repair_indexes(say: Callable[[str], None] = print, tables: Sequence[str] = _BIG_TABLES) -> int:
    """Rebuild the secondary indexes a bulk load dropped and did not get to rebuild (the
    load was killed): every index the models declare on the big tables, under the name the
    migrations gave it, when missing; the baseline table's too. Returns how many."""
    from django.apps import apps
    from django.db import connection

    built = 0
    with connection.cursor() as cursor:
        existing = {
            table: set(connection.introspection.get_constraints(cursor, table))
            for table in tables
            if table != BASELINE_TABLE
        }
    with connection.schema_editor(atomic=False) as editor:
        for model in apps.get_models():
            table = model._meta.db_table
            if table not in existing:
                continue
            for statement in editor._model_indexes_sql(model):  # type: ignore[attr-defined]
                name = str(statement.parts["name"]).strip('"')
                if name not in existing[table]:
                    say(f"  rebuilding index {name}")
                    editor.execute(statement)
                    built += 1
    ensure_baseline_table()
    return built


def analyze() -> None:
    """Leave the tables as a database in service has them, as PostgreSQL's autovacuum and
    SQLite's ``PRAGMA optimize`` would after a bulk load: the planner's statistics, and on
    PostgreSQL the visibility map too (``VACUUM``). Rows just COPYed are all "not yet known
    visible", so every index-only scan would read the table as well; autovacuum marks them
    after inserts (``autovacuum_vacuum_insert_threshold``, PostgreSQL 13+), but on its own
    schedule, and a benchmark started right after the load would time a state no server in
    service stays in."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and connection.get_autocommit():
            cursor.execute("VACUUM (ANALYZE)")
        else:
            cursor.execute("ANALYZE")


def case_count() -> int:
    from himaya.cases.models import CaseFile

    return CaseFile.objects.count()


@dataclass(frozen=True, slots=True)
class Report:
    cases: int
    seconds: float
    rows: int


def generate(  # noqa: PLR0915 - one linear recipe
    cases: int,
    *,
    seed: int = 2020,
    workers: int | None = None,
    say: Callable[[str], None] = print,
    world: World | None = None,
) -> Report:
    """Add cases until the database holds ``cases`` of them (existing ones are kept, so a
    benchmark can grow the same database in stages). Returns what was added, and how long
    it took."""
    from django.db import connections

    started = time.perf_counter()
    world = world or load_world(say)
    _STATE["world"] = world
    ensure_baseline_table()
    have = case_count()
    if have >= cases:
        return Report(cases=0, seconds=0.0, rows=0)
    _load_counters(world)
    writer = _Writer(world)
    workers = max(1, (os.cpu_count() or 2) - 1) if workers is None else workers
    starts = list(range(have, cases, BATCH))
    written_rows = 0
    done = have

    def batches() -> Iterator[Batch]:
        if workers == 0:
            for start in starts:
                yield build_batch(seed, start, min(BATCH, cases - start))
            return
        # Forked workers inherit the world; none of them touches the database connection.
        connections.close_all()
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("fork")) as pool:
            pending: list[Future[Batch]] = []
            queue = iter(starts)
            for start in itertools.islice(queue, workers * 2):
                pending.append(pool.submit(build_batch, seed, start, min(BATCH, cases - start)))
            while pending:
                batch = pending.pop(0).result()
                nxt = next(queue, None)
                if nxt is not None:
                    pending.append(pool.submit(build_batch, seed, nxt, min(BATCH, cases - nxt)))
                yield batch

    last_report = time.perf_counter()
    first = True
    dropped: list[str] = []
    try:
        for batch in batches():
            if first:
                _fast_session()
                if cases - have >= BIG_LOAD:
                    dropped = _drop_secondary_indexes()
                first = False
            writer.write(batch)
            written_rows += sum(len(rows) for rows in batch.rows.values())
            done += len(batch.references)
            if time.perf_counter() - last_report > 15:
                last_report = time.perf_counter()
                rate = (done - have) / (last_report - started)
                say(f"  {done:,} cases ({rate:,.0f}/s)")
    finally:
        if dropped:
            say(f"  building {len(dropped)} indexes")
            _rebuild_indexes(dropped)
        _restore_session()
    analyze()
    return Report(cases=cases - have, seconds=time.perf_counter() - started, rows=written_rows)


def main() -> None:
    args = sys.argv[1:]
    database = common.database_name(args)
    if "--drop" in args:
        common.drop(database)
        print(f"dropped the {database} scratch database")
        return
    cases = int(args[args.index("--cases") + 1]) if "--cases" in args else common.scale_cases()
    # A load stopped by SIGTERM or SIGINT (even from a shell that ignores SIGINT in
    # background jobs) still rebuilds the indexes it dropped, in generate()'s finally.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    common.setup(database, fresh="--fresh" in args)
    if "--repair" in args:
        print(f"rebuilt {repair_indexes()} indexes")
        analyze()
        return
    report = generate(cases)
    print(
        f"generated {report.cases:,} cases ({report.rows:,} rows) in {report.seconds:.1f} s "
        f"on {database}; the database now holds {case_count():,} cases"
    )


if __name__ == "__main__":
    main()
