"""Compile the translation catalogues (.po → .mo) in pure Python, or check them.

    manage.py compilemessages_himaya          write every .mo that differs from its .po
    manage.py compilemessages_himaya --check  write nothing; fail if a .mo is missing or
                                              stale, or a catalogue other than English has
                                              an untranslated or fuzzy message

The .mo files are committed (a fresh checkout runs without any gettext tool) and CI runs
``--check`` so that a .po edited without recompiling, or left half-translated, fails.
English is the source language: its catalogue may leave messages empty.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from himaya.core.pofile import PoSyntaxError, catalog_problems, compile_mo, read_po

SOURCE_LANGUAGE = "en"
DOMAIN = "django"


class Command(BaseCommand):
    help = "Compile (or --check) the .po catalogues of every language in settings.LANGUAGES."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--check",
            action="store_true",
            help="Write nothing; exit non-zero if a .mo is missing or stale or a catalogue "
            "is incomplete.",
        )
        parser.add_argument(
            "--locale-dir",
            type=Path,
            default=None,
            help="Catalogue folder (default: the first of settings.LOCALE_PATHS).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        locale_dir: Path = options["locale_dir"] or Path(settings.LOCALE_PATHS[0])
        check: bool = options["check"]
        problems: list[str] = []
        written = 0
        for code, _name in settings.LANGUAGES:
            messages_dir = locale_dir / code / "LC_MESSAGES"
            po_path = messages_dir / f"{DOMAIN}.po"
            mo_path = messages_dir / f"{DOMAIN}.mo"
            if not po_path.exists():
                problems.append(f"{code}: {po_path} is missing")
                continue
            try:
                catalog = read_po(po_path)
            except (PoSyntaxError, UnicodeDecodeError) as exc:
                problems.append(f"{code}: {exc}")
                continue
            # Completeness is enforced by --check (CI); compiling a half-translated
            # catalogue is allowed so work in progress still runs, and is reported.
            complete = catalog_problems(catalog, require_translation=code != SOURCE_LANGUAGE)
            structural = catalog_problems(catalog, require_translation=False)
            problems.extend(f"{code}: {p}" for p in (complete if check else structural))
            if not check and len(complete) > len(structural):
                self.stderr.write(
                    f"{code}: {len(complete) - len(structural)} message(s) untranslated or "
                    "fuzzy (English shows instead)"
                )
            compiled = compile_mo(catalog)
            current = mo_path.read_bytes() if mo_path.exists() else None
            if current == compiled:
                continue
            if check:
                state = "missing" if current is None else "stale"
                problems.append(
                    f"{code}: {mo_path.name} is {state}; run manage.py compilemessages_himaya"
                )
            else:
                mo_path.write_bytes(compiled)
                written += 1
                self.stdout.write(f"compiled {po_path}")
        if problems:
            for problem in problems:
                self.stderr.write(problem)
            raise CommandError(f"{len(problems)} translation problem(s)")
        if check:
            self.stdout.write("translation catalogues are complete and compiled")
        elif not written:
            self.stdout.write("translation catalogues already compiled")
