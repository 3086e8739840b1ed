"""Each study's public counts, kept by triggers (issue 16): a study detail reads one row instead of counting
its samples, runs and analyses live. The triggers' SQL and its reasons are in ``analyses.public_counts``; the
backfill counts every study from the tables."""

import django.db.models.deletion
from django.db import migrations, models

from analyses.public_counts import INSTALL_SQL, RECOUNT_SQL, UNINSTALL_SQL


class Migration(migrations.Migration):
    dependencies = [
        ("analyses", "0005_dashboard_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="StudyPublicCounts",
            fields=[
                (
                    "study",
                    models.OneToOneField(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        primary_key=True,
                        related_name="public_counts",
                        serialize=False,
                        to="analyses.study",
                    ),
                ),
                ("samples", models.BigIntegerField(db_default=0)),
                ("runs", models.BigIntegerField(db_default=0)),
                ("analyses", models.BigIntegerField(db_default=0)),
            ],
            options={
                "verbose_name": "MGnify study's public counts",
                "verbose_name_plural": "MGnify studies' public counts",
                "db_table": "analyses_study_public_counts",
            },
        ),
        migrations.RunSQL(INSTALL_SQL, UNINSTALL_SQL),
        migrations.RunSQL(RECOUNT_SQL, migrations.RunSQL.noop),
    ]
