"""``manage.py export_collections [--out DIR] [--include-private]``: a metadata export as DRS objects."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandParser

from analyses.exports import export_collections
from drs.selectors import self_uri


class Command(BaseCommand):
    help = "Export studies, samples, runs and analyses as gzip JSON Lines + manifest, registered as DRS objects."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", type=Path, default=None, help="directory (default: exports_root/<timestamp>)")
        parser.add_argument(
            "--include-private", action="store_true", help="include private rows (the export is then admin-only)"
        )

    def handle(self, *args, out: Path | None, include_private: bool, **options) -> None:
        result = export_collections(out_dir=out.resolve() if out else None, include_private=include_private)
        for name, entry in result.manifest["collections"].items():
            self.stdout.write(f"{name:10} {entry['count']:8} rows  {entry['file']}  {entry['drs_id']}")
        self.stdout.write(f"written to {result.directory}")
        self.stdout.write(self.style.SUCCESS(f"{self_uri(result.latest.id)} -> {self_uri(result.bundle.id)}"))
