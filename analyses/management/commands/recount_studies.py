"""``manage.py recount_studies [--check]``: compare each study's stored public counts with a live count, and
rewrite them all from the tables unless ``--check`` (which exits non-zero, naming the studies, on a difference).

The counts are kept by triggers (``analyses.public_counts``) and should never differ; this is the repair
should they (a restore of one table, triggers disabled for a bulk load).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from analyses.public_counts import drifted_studies, recount

#: How many differing studies a report names.
SHOWN = 10


class Command(BaseCommand):
    help = "Check (--check) or rewrite every study's public sample/run/analysis counts from the tables."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--check", action="store_true", help="only compare; exit 1 if any study differs")

    def handle(self, *args: Any, check: bool = False, **options: Any) -> None:
        drifted = drifted_studies()
        if check:
            if drifted:
                shown = ", ".join(str(row["study_id"]) for row in drifted[:SHOWN])
                raise CommandError(f"{len(drifted)} studies' stored public counts differ from a live count: {shown}")
            self.stdout.write("every study's stored public counts equal a live count")
            return
        studies = recount()
        self.stdout.write(f"rewrote the public counts of {studies} studies ({len(drifted)} differed)")
