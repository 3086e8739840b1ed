"""The admin dashboard's analyses per day, index-only (issue 17). Built ``CONCURRENTLY``, as 0003's."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False


    dependencies = [
        ('analyses', '0004_platform_verbose_names'),
    ]

    operations = [
        AddIndexConcurrently(
            model_name='analysis',
            index=models.Index(fields=['created_at'], include=('state', 'is_private', 'webin_submitter'), name='analysis_created'),
        ),
    ]
