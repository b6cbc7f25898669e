"""A griffe extension: the reStructuredText roles of the project's docstrings as Markdown code.

The code's docstrings cross-reference with Sphinx roles (:func:`load_case`,
:mod:`models.optimize`); mkdocstrings reads docstrings as Markdown, where those
would show as written. They become code spans (`load_case`).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import griffe

sys.path.insert(0, str(Path(__file__).resolve().parent))
from markup import _ROLE  # noqa: E402


class PlainRoles(griffe.Extension):
    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _ROLE.sub(r"`\1`", obj.docstring.value)
