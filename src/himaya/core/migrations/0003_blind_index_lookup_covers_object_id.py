"""The blind-index lookup index also holds the record's id, so searches read the index alone
(duplicate detection at a million cases: bench/README.md). The new index is built before
the old one is dropped: searches always have one."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("core", "0002_audit_append_only_triggers"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="blindindexentry",
            index=models.Index(
                fields=["purpose", "digest", "content_type", "object_id"],
                name="blindindex_lookup_cover",
            ),
        ),
        migrations.RemoveIndex(
            model_name="blindindexentry",
            name="blindindex_lookup",
        ),
    ]
