"""Run as ``python -m tests.sealedapp.canary_writer`` with SQLITE_PATH and HIMAYA_KEYS_DIR set.

Creates the tables it needs in a fresh SQLite file (WAL mode, like production), writes the
canaries, prints one JSON line, then keeps its connection open -- so the WAL file still holds
the new pages -- until it reads a line on stdin, and exits.
"""

from __future__ import annotations

import json
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "himaya.settings")
    os.environ["HIMAYA_ENV"] = "test"
    import django

    django.setup()
    from django.apps import apps
    from django.db import connection

    from tests.sealedapp.canaries import write_canaries

    with connection.schema_editor() as editor:
        for label in ("contenttypes", "core", "sealedapp"):
            for model in apps.get_app_config(label).get_models():
                editor.create_model(model)
    result = write_canaries()
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    sys.stdin.readline()
    connection.close()


if __name__ == "__main__":
    main()
