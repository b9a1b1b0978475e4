#!/usr/bin/env python
"""Django's command-line utility for Himaya."""

import os
import sys
from pathlib import Path


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "himaya.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:
        # A configuration mistake is the operator's to fix: one line naming the variable,
        # not a traceback that buries it (and may echo settings into shared logs).
        sys.exit(f"Himaya is not configured: {exc}")


if __name__ == "__main__":
    main()
