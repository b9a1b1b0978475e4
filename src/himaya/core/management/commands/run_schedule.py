"""Run the periodic jobs (``himaya.core.schedule``): forever, or each once with ``--once``."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from himaya.core import schedule


class Command(BaseCommand):
    help = "Run the periodic jobs at their intervals (or each once with --once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="run each job once and exit")
        parser.add_argument("--job", action="append", default=[], help="only this job (repeatable)")

    def handle(self, *args: Any, **options: Any) -> None:
        selected = [
            job for job in schedule.jobs() if not options["job"] or job.name in options["job"]
        ]
        if options["once"]:
            failed = [job.name for job in selected if not schedule.run_job(job)]
            self.stdout.write(f"{len(selected) - len(failed)} job(s) ran, {len(failed)} failed")
            if failed:
                raise SystemExit(1)
            return
        schedule.run_forever()
