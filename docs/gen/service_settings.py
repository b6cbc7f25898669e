"""The scheduling service's settings table, from ``api.settings.Settings``.

A setting's description is its field's ``description`` or the ``#:`` comment
lines just above it in the class's source (one comment may stand for the fields
that follow it without a comment of their own). A setting with neither is a problem.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

from markup import inline
from pydantic_core import PydanticUndefined


def _comments(cls: type) -> dict[str, str]:
    """``#:`` comments by the field they stand above, carried on to the fields right after it."""
    out: dict[str, str] = {}
    pending: list[str] = []
    current = ""
    for line in inspect.getsource(cls).splitlines():
        stripped = line.strip()
        field = re.match(r"([a-z_][a-z0-9_]*)\s*:", stripped)
        if stripped.startswith("#:"):
            pending.append(stripped[2:].strip())
        elif field:
            if pending:
                current, pending = " ".join(pending), []
            out[field.group(1)] = current
        else:
            current, pending = "", []
    return out


def _default(info: Any) -> str:
    if info.default_factory is not None:
        return "computed (see description)"
    if info.default is PydanticUndefined or info.default is None:
        return "empty" if info.default is None else "required"
    if info.default == "":
        return "empty"
    value = info.default
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10_000:
        return f"`{value:,}`"
    return f"`{value}`"


def _bounds(info: Any) -> str:
    parts = []
    for item in info.metadata:
        for name, sign in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<")):
            value = getattr(item, name, None)
            if value is not None:
                parts.append(f"{sign} {value}")
    return ", ".join(parts)


def settings_table() -> tuple[str, list[str]]:
    """The Markdown table of every setting: environment variable, default, bounds, description."""
    from api.settings import Settings

    prefix = str(Settings.model_config.get("env_prefix", "")).upper()
    comments = _comments(Settings)
    problems: list[str] = []
    lines = ["| variable | default | allowed | what |", "|---|---|---|---|"]
    for key, info in Settings.model_fields.items():
        text = info.description or comments.get(key, "")
        if not text:
            problems.append(
                f"service settings: {key} has no description: add a '#:' comment above it in api/settings.py"
            )
        text = inline(text).replace("|", "\\|")
        lines.append(f"| `{prefix}{key.upper()}` | {_default(info)} | {_bounds(info)} | {text} |")
    return "\n".join(lines) + "\n", problems
