"""Drop indexes that another index already serves (tests/core/test_indexes.py): only the
index goes, the table is not rebuilt (himaya.core.migration_ops)."""

import django.db.models.deletion
from django.db import migrations, models

from himaya.core.migration_ops import drop_field_index


class Migration(migrations.Migration):

    dependencies = [
        ('network', '0001_initial'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='agency',
            name='agency_kind_idx',
        ),
        migrations.RemoveIndex(
            model_name='agency',
            name='agency_commune_idx',
        ),
        drop_field_index(
            app_label='network',
            model_name='openinghours',
            name='agency',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='opening_hours', to='network.agency'),
        ),
    ]
