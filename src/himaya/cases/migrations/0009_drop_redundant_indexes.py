"""Drop indexes that another index already serves (tests/core/test_indexes.py): only the
index goes, the table is not rebuilt (himaya.core.migration_ops)."""

import django.db.models.deletion
from django.db import migrations, models

from himaya.core.migration_ops import drop_field_index, drop_pattern_index


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0008_intake_draft_open_list'),
        ('network', '0002_drop_redundant_indexes'),
    ]

    operations = [
        drop_field_index(
            app_label='cases',
            model_name='casefile',
            name='unit',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='case_files', to='network.agency'),
        ),
        drop_field_index(
            app_label='cases',
            model_name='grant',
            name='agency',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='grants', to='network.agency'),
        ),
        drop_field_index(
            app_label='cases',
            model_name='notice',
            name='case',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='notices', to='cases.casefile'),
        ),
        drop_field_index(
            app_label='cases',
            model_name='survivormessage',
            name='case',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='survivor_messages', to='cases.casefile'),
        ),
        drop_field_index(
            app_label='cases',
            model_name='timelineentry',
            name='case',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='timeline', to='cases.casefile'),
        ),
        drop_field_index(
            app_label='cases',
            model_name='unitcounter',
            name='unit',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='network.agency'),
        ),
        drop_pattern_index(app_label='cases', model_name='casefile', name='reference'),
    ]
