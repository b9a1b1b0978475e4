"""Every message the portal shows, found in its templates and Python sources.

Used by the translation-completeness test: each must have a non-empty translation in the
Arabic, French and Amazigh catalogues (English is the source language).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from django.template.base import Lexer, TokenType

SRC = Path(__file__).resolve().parents[2] / "src" / "himaya"
TEMPLATES = SRC / "portal" / "templates" / "portal"
PYTHON = [
    *sorted((SRC / "portal").glob("*.py")),
    SRC / "cases" / "online.py",
]
_GETTEXT = {"_", "gettext", "gettext_lazy", "_t", "gettext_noop"}
_TRANS = re.compile(r"""^(?:translate|trans)\s+(["'])(.*?)\1""", re.S)
_BLOCK = re.compile(r"^(?:blocktranslate|blocktrans)\b")
_VAR = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def template_msgids() -> set[str]:
    found: set[str] = set()
    for path in sorted(TEMPLATES.glob("*.html")):
        tokens = Lexer(path.read_text(encoding="utf-8")).tokenize()
        block: list[str] | None = None
        for token in tokens:
            if token.token_type == TokenType.BLOCK:
                content = token.contents
                if block is not None and content.startswith("endblocktrans"):
                    found.add("".join(block))
                    block = None
                    continue
                match = _TRANS.match(content)
                if match:
                    found.add(match.group(2))
                elif _BLOCK.match(content):
                    block = []
            elif block is not None:
                if token.token_type == TokenType.VAR:
                    block.append(f"%({token.contents.split('|')[0].strip()})s")
                else:
                    block.append(token.contents)
    return found


def python_msgids() -> set[str]:
    found: set[str] = set()
    for path in PYTHON:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in _GETTEXT
                and node.args
            ):
                arg = node.args[0]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    found.add(arg.value)
                elif isinstance(arg, ast.JoinedStr):  # pragma: no cover - never in our code
                    continue
    return found


def portal_msgids() -> set[str]:
    return template_msgids() | python_msgids()
