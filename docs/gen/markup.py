"""Docstring text as Markdown, shared by the generators."""

from __future__ import annotations

import re

_ROLE = re.compile(r":(?:py:)?[a-z]+:`~?([^`]+)`")


def inline(text: str) -> str:
    """reStructuredText inline markup as Markdown: ``x`` and :role:`x` become `x`.

    Outside code spans, the characters Markdown would read as links, emphasis or
    HTML (``[ ] * _ <``) are escaped: ``P ∈ [0, Pmax] [MW]`` is maths, not a link.
    """
    parts = _ROLE.sub(r"`\1`", text.replace("``", "`")).split("`")
    for i in range(0, len(parts), 2):
        parts[i] = re.sub(r"([\[\]*_<])", r"\\\1", parts[i])
    return "`".join(parts)
