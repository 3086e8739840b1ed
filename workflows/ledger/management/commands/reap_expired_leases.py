"""``manage.py reap_expired_leases``: return work whose lease expired to pending (claims do this too)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from workflows.ledger.services import reap_expired_leases


class Command(BaseCommand):
    help = "Move claimed/running work items whose lease expired back to pending (or to failed when out of attempts)."

    def handle(self, *args, **options):
        total = 0
        while batch := reap_expired_leases():
            total += len(batch)
            for row in batch:
                self.stdout.write(f"item {row.item_id}: {row.from_state} -> {row.to_state} (holder {row.holder})")
        self.stdout.write(f"{total} item(s) reaped")
