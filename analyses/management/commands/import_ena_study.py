"""``manage.py import_ena_study PRJEB1234``: fetch an ENA study, store it and its MGYS study (progress bar)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from analyses.ena_sync import import_ena_study
from ena.accessions import InvalidAccessionError, validate_study_accession
from ena.portal.errors import ENAError

STAGE_LABELS = {
    "sample": "fetch samples",
    "read_run": "fetch runs",
    "samples": "write samples",
    "runs": "write runs",
}


class Command(BaseCommand):
    help = "Import an ENA study with all its samples and runs (and its MGYS study and runs)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("accession", help="PRJ* or ERP/SRP/DRP accession")
        parser.add_argument("--private", action="store_true", help="use the Webin credentials (private data)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, accession: str, private: bool, no_progress: bool, **options) -> None:
        try:
            validate_study_accession(accession)
        except InvalidAccessionError as error:
            raise CommandError(str(error)) from None
        bars: dict[str, tqdm] = {}

        def progress(stage: str, done: int, total: int | None) -> None:
            if no_progress:
                return
            bar = bars.get(stage)
            if bar is None:
                for other in bars.values():
                    other.close()
                bar = bars[stage] = tqdm(
                    desc=STAGE_LABELS.get(stage, stage), total=total, unit="rows", leave=True, file=self.stderr._out
                )
            bar.update(done - bar.n)

        try:
            summary = import_ena_study(accession, authenticated=private, progress=progress)
        except ENAError as error:
            raise CommandError(f"import of {accession} failed: {error}") from None
        finally:
            for bar in bars.values():
                bar.close()
        for line in summary.lines():
            self.stdout.write(line)
