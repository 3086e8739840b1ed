"""``manage.py create_ledger_token NAME --role admin|pipeline [--pipeline NAME VERSION] [--expires-days N]``."""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from workflows.ledger.models import Pipeline, TokenRole
from workflows.ledger.tokens import issue_token


class Command(BaseCommand):
    help = "Mint a work-ledger API token and print it (only its hash is stored)."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--role", choices=[role.value for role in TokenRole], default=TokenRole.ADMIN.value)
        parser.add_argument("--pipeline", nargs=2, metavar=("NAME", "VERSION"), help="for --role pipeline")
        parser.add_argument("--expires-days", type=float, default=None)

    def handle(self, *args, name: str, role: str, pipeline: list[str] | None, expires_days: float | None, **options):
        target = None
        if role == TokenRole.PIPELINE:
            if not pipeline:
                raise CommandError("--role pipeline needs --pipeline NAME VERSION")
            try:
                target = Pipeline.objects.get(name=pipeline[0], version=pipeline[1])
            except Pipeline.DoesNotExist:
                raise CommandError(f"No pipeline {pipeline[0]} {pipeline[1]}") from None
        elif pipeline:
            raise CommandError("an admin token is not limited to a pipeline")
        expires_at = timezone.now() + timedelta(days=expires_days) if expires_days else None
        issued = issue_token(name=name, role=role, pipeline=target, expires_at=expires_at, created_by="manage.py")
        self.stdout.write(issued.plaintext)
