"""Work items get the platform's privacy columns (issue 13: the ledger's public reads showed private runs).

Items of analyses that are private, or of a private study, become private to the analysis' Webin
submitter (else the study's) right away, rather than at their next registration: until then the
ledger would keep showing them. Other items stay public, as they were.
"""

from django.db import migrations, models

BACKFILL_SQL = """
UPDATE workflows_workitem AS w
SET is_private = true, webin_submitter = COALESCE(NULLIF(a.webin_submitter, ''), s.webin_submitter)
FROM analyses_analysis AS a JOIN analyses_study AS s ON s.id = a.study_id
WHERE w.external_ref <> '' AND a.accession = w.external_ref AND (a.is_private OR s.is_private)
"""


class Migration(migrations.Migration):
    dependencies = [
        ("workflows", "0002_pipeline_lease_index"),
        ("analyses", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="workitem",
            name="is_private",
            field=models.BooleanField(db_index=True, default=False),
        ),
        migrations.AddField(
            model_name="workitem",
            name="webin_submitter",
            field=models.CharField(blank=True, db_index=True, default="", max_length=32),
        ),
        migrations.RunSQL(BACKFILL_SQL, reverse_sql=migrations.RunSQL.noop, elidable=True),
    ]
