"""Drop indexes that another index already serves (tests/core/test_indexes.py): only the
index goes, the table is not rebuilt (himaya.core.migration_ops)."""

import django.db.models.deletion
from django.db import migrations, models

from himaya.core.migration_ops import drop_field_index


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0009_drop_redundant_indexes'),
        ('network', '0002_drop_redundant_indexes'),
        ('referrals', '0002_referral_inbox_done_index'),
    ]

    operations = [
        drop_field_index(
            app_label='referrals',
            model_name='referral',
            name='case',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='referrals', to='cases.casefile'),
        ),
        drop_field_index(
            app_label='referrals',
            model_name='referral',
            name='from_agency',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='referrals_sent', to='network.agency'),
        ),
        drop_field_index(
            app_label='referrals',
            model_name='referral',
            name='to_agency',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='referrals_received', to='network.agency'),
        ),
        drop_field_index(
            app_label='referrals',
            model_name='referralevent',
            name='referral',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='events', to='referrals.referral'),
        ),
    ]
