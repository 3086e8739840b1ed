"""``manage.py export_collections [--out DIR] [--include-private | --owner WEBIN]``: a metadata export (DRS)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analyses.exports import export_collections
from drs.selectors import self_uri


class Command(BaseCommand):
    help = "Export studies, samples, runs and analyses as gzip JSON Lines + manifest, registered as DRS objects."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", type=Path, default=None, help="directory (default: exports_root/<timestamp>)")
        scope = parser.add_mutually_exclusive_group()
        scope.add_argument(
            "--include-private", action="store_true", help="every row, private ones too (the export is admin-only)"
        )
        scope.add_argument(
            "--owner",
            default=None,
            metavar="WEBIN",
            help="the rows only this Webin account may see (e.g. Webin-777), as DRS objects private to it",
        )

    def handle(self, *args, out: Path | None, include_private: bool, owner: str | None, **options) -> None:
        try:
            result = export_collections(
                out_dir=out.resolve() if out else None, include_private=include_private, owner=owner
            )
        except ValueError as error:
            raise CommandError(str(error)) from error
        for name, entry in result.manifest["collections"].items():
            self.stdout.write(f"{name:10} {entry['count']:8} rows  {entry['file']}  {entry['drs_id']}")
        self.stdout.write(f"written to {result.directory}")
        self.stdout.write(self.style.SUCCESS(f"{self_uri(result.latest.id)} -> {self_uri(result.bundle.id)}"))
