"""Drop indexes that another index already serves (tests/core/test_indexes.py): only the
index goes, the table is not rebuilt (himaya.core.migration_ops)."""

import django.db.models.deletion
from django.db import migrations, models

from himaya.core.migration_ops import drop_field_index


class Migration(migrations.Migration):

    dependencies = [
        ('justice', '0001_complaints_measures'),
        ('network', '0002_drop_redundant_indexes'),
    ]

    operations = [
        drop_field_index(
            app_label='justice',
            model_name='breach',
            name='measure',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='breaches', to='justice.protectionmeasure'),
        ),
        drop_field_index(
            app_label='justice',
            model_name='complaint',
            name='office',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='complaints', to='network.agency'),
        ),
        drop_field_index(
            app_label='justice',
            model_name='complaintevent',
            name='complaint',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='events', to='justice.complaint'),
        ),
        drop_field_index(
            app_label='justice',
            model_name='decision',
            name='complaint',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='decisions', to='justice.complaint'),
        ),
        drop_field_index(
            app_label='justice',
            model_name='hearing',
            name='complaint',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='hearings', to='justice.complaint'),
        ),
        drop_field_index(
            app_label='justice',
            model_name='protectionmeasure',
            name='complaint',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='measures', to='justice.complaint'),
        ),
    ]
