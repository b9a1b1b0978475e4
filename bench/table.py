"""The results table of ``bench/README.md``, from ``bench/results/*.json``.

    .venv/bin/python bench/table.py            # every recorded row, as Markdown
    .venv/bin/python bench/table.py --scale "1,000,000"   # only rows whose scale says so

One row per recorded figure (each file keeps the latest run of every database and scale,
``common.write_results``), files in the order of the README's sections. Paste the output
under "Results" after a run, so the table is what the JSON says and nothing else.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
ORDER = ("cases", "intake_http", "referrals", "justice", "pages", "routing")
HEADER = (
    "| figure | database | scale | value | ratio | compared to (same run) |\n"
    "|---|---|---|---|---|---|"
)


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def rows(folder: Path = RESULTS, *, scale: str = "") -> list[dict[str, Any]]:
    files = sorted(
        folder.glob("*.json"),
        key=lambda p: (ORDER.index(p.stem) if p.stem in ORDER else len(ORDER), p.stem),
    )
    found: list[dict[str, Any]] = []
    for path in files:
        for row in json.loads(path.read_text(encoding="utf-8")):
            if scale in str(row.get("scale", "")):
                found.append(row)
    return found


def render(found: list[dict[str, Any]]) -> str:
    lines = [HEADER]
    for r in found:
        lines.append(
            "| "
            + " | ".join(
                _cell(v)
                for v in (
                    r["name"],
                    r["database"],
                    r["scale"],
                    f"{r['value']} {r['unit']}",
                    r["ratio"],
                    r["compared_to"],
                )
            )
            + " |"
        )
    return "\n".join(lines)


def main() -> None:
    args = sys.argv[1:]
    scale = args[args.index("--scale") + 1] if "--scale" in args else ""
    print(render(rows(scale=scale)))


if __name__ == "__main__":
    main()
