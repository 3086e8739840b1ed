"""Indexes for lists at MGnify's size (issue 16; measured by ``bench/api_scale.py``).

Each leads with what a list filters on, then ``id`` for the list's order (newest first), and carries the
visibility columns so that a page and its bounded count are index-only scans. They replace the single-column
indexes on the same leading columns. Built ``CONCURRENTLY`` (so the migration is not atomic): a production
table of half a million analyses keeps serving reads and writes while they build.
"""

import django.db.models.deletion
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models

#: The samples of a study in list order (sample_id descending), for ``/studies/{accession}/samples``.
SAMPLE_STUDIES_INDEX = "analyses_sample_studies_study_sample"


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("analyses", "0002_analysis_annotations"),
        ("ena", "0002_study_import_report"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="analysis",
            index=models.Index(
                fields=["study", "id"], include=("is_private", "is_superseded"), name="analysis_study_id"
            ),
        ),
        AddIndexConcurrently(
            model_name="analysis",
            index=models.Index(
                fields=["state", "id"], include=("study", "is_private", "is_superseded"), name="analysis_state_id"
            ),
        ),
        AddIndexConcurrently(
            model_name="analysis",
            index=models.Index(
                condition=models.Q(("is_private", False), ("is_superseded", False)),
                fields=["id"],
                include=("study",),
                name="analysis_public_id",
            ),
        ),
        AddIndexConcurrently(
            model_name="run",
            index=models.Index(fields=["study", "id"], include=("is_private",), name="run_study_id"),
        ),
        AddIndexConcurrently(
            model_name="run",
            index=models.Index(
                fields=["experiment_type", "id"], include=("study", "is_private"), name="run_experiment_type_id"
            ),
        ),
        AddIndexConcurrently(
            model_name="run",
            index=models.Index(
                condition=models.Q(("is_private", False)), fields=["id"], include=("study",), name="run_public_id"
            ),
        ),
        AddIndexConcurrently(
            model_name="study",
            index=models.Index(fields=["biome", "id"], include=("is_private",), name="study_biome_id"),
        ),
        AddIndexConcurrently(
            model_name="sample",
            index=models.Index(fields=["biome", "id"], include=("is_private",), name="sample_biome_id"),
        ),
        AddIndexConcurrently(
            model_name="study",
            index=models.Index(condition=models.Q(("is_private", False)), fields=["id"], name="study_public_id"),
        ),
        AddIndexConcurrently(
            model_name="sample",
            index=models.Index(condition=models.Q(("is_private", False)), fields=["id"], name="sample_public_id"),
        ),
        migrations.RunSQL(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {SAMPLE_STUDIES_INDEX} "
            "ON analyses_sample_studies (study_id, sample_id)",
            reverse_sql=f"DROP INDEX CONCURRENTLY IF EXISTS {SAMPLE_STUDIES_INDEX}",
        ),
        migrations.AlterField(
            model_name="study",
            name="biome",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="studies",
                to="analyses.biome",
            ),
        ),
        migrations.AlterField(
            model_name="sample",
            name="biome",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="samples",
                to="analyses.biome",
            ),
        ),
        migrations.AlterField(
            model_name="analysis",
            name="state",
            field=models.CharField(
                choices=[
                    ("pending", "Pending"),
                    ("running", "Running"),
                    ("completed", "Completed"),
                    ("failed", "Failed"),
                ],
                default="pending",
                max_length=16,
            ),
        ),
        migrations.AlterField(
            model_name="analysis",
            name="study",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="analyses",
                to="analyses.study",
            ),
        ),
        migrations.AlterField(
            model_name="run",
            name="experiment_type",
            field=models.CharField(
                choices=[
                    ("AMPLI", "Amplicon"),
                    ("METAG", "Metagenomic"),
                    ("METAT", "Metatranscriptomic"),
                    ("ASSEM", "Assembly"),
                    ("UNKNO", "Unknown"),
                ],
                default="UNKNO",
                max_length=5,
            ),
        ),
        migrations.AlterField(
            model_name="run",
            name="study",
            field=models.ForeignKey(
                db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name="runs", to="analyses.study"
            ),
        ),
    ]
