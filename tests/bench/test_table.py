"""``bench/table.py`` renders exactly what the results files hold, in the README's order."""

from __future__ import annotations

import json
from pathlib import Path

from bench import table


def _row(name: str, database: str, scale: str, value: float) -> dict[str, object]:
    return {
        "name": name,
        "metric": "m",
        "value": value,
        "unit": "ms",
        "scale": scale,
        "database": database,
        "compared_to": "a | b",
        "ratio": 1.5,
    }


def test_rows_in_section_order_filtered_by_scale(tmp_path: Path) -> None:
    (tmp_path / "referrals.json").write_text(
        json.dumps([_row("referrals.page", "sqlite", "1,000,000 cases", 12.5)])
    )
    (tmp_path / "cases.json").write_text(
        json.dumps(
            [
                _row("cases.look", "postgresql", "10,000 cases", 3.0),
                _row("cases.look", "postgresql", "1,000,000 cases", 4.0),
            ]
        )
    )
    everything = table.rows(tmp_path)
    assert [(r["name"], r["value"]) for r in everything] == [
        ("cases.look", 3.0),
        ("cases.look", 4.0),
        ("referrals.page", 12.5),
    ]
    text = table.render(table.rows(tmp_path, scale="1,000,000"))
    lines = text.splitlines()
    assert lines[0] == "| figure | database | scale | value | ratio | compared to (same run) |"
    assert lines[2] == ("| cases.look | postgresql | 1,000,000 cases | 4.0 ms | 1.5 | a \\| b |")
    assert lines[3].startswith("| referrals.page | sqlite |")
    assert len(lines) == 4
