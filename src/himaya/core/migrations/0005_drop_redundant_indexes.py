"""Drop indexes that another index already serves (tests/core/test_indexes.py): only the
index goes, the table is not rebuilt (himaya.core.migration_ops)."""

import django.db.models.deletion
from django.db import migrations, models

from himaya.core.migration_ops import drop_field_index, drop_pattern_index


class Migration(migrations.Migration):

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('core', '0004_form_submissions_acted_on'),
    ]

    operations = [
        drop_field_index(
            app_label='core',
            model_name='blindindexentry',
            name='content_type',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='contenttypes.contenttype'),
        ),
        drop_pattern_index(app_label='core', model_name='auditevent', name='hash'),
        drop_pattern_index(app_label='core', model_name='datakey', name='master_key_id'),
    ]
