"""What the ``vpp`` commands share: the consoles, how bad input is printed, dates, the help's style.

:mod:`vpp.cli`, :mod:`vpp.forecast_cli` and :mod:`vpp.sizing_cli` (and the
commands that plug in, such as ``vpp bench``) build their apps with :class:`App`:

- help texts are plain text (units in square brackets such as ``[s]`` or
  ``[deg N]`` are shown as written, not read as console markup);
- a flag shows no value placeholder (it takes none), an argument is named in
  capitals in the usage line;
- a group lists its commands in the order given (``order``), the order of a
  user's day rather than of the source file.

Bad input exits with code 2 after one line per problem on stderr (:func:`fail`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperCommand, TyperGroup

from vpp.errors import CaseError, Problem

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)  # one line per problem, even in logs and pipes


def fail(exc: CaseError) -> NoReturn:
    """Print every problem of ``exc``, one line each, on stderr and exit with code 2."""
    err.print(f"[bold red]error[/] {len(exc.problems)} problem(s) while {escape(exc.step)}:", highlight=False)
    for p in exc.problems:
        err.print(f"  - {p}", highlight=False, markup=False)
    raise typer.Exit(2)


def bad(where: str, message: str, step: str) -> NoReturn:
    """One problem at ``where`` (an option or a file), printed as :func:`fail` does; exit 2."""
    fail(CaseError([Problem(where, message)], step=step))


def option_date(value: str | None, option: str = "--date") -> dt.date | None:
    """The day given to ``option`` (YYYY-MM-DD), None when not given; a usage error naming ``option`` otherwise."""
    from vpp.cases.days import parse_date

    if value is None:
        return None
    try:
        return parse_date(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from None


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


class _HelpStyle:
    """Plain-text help and a --help flag without a value placeholder (for commands and groups alike)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["help"] = escape(kwargs["help"]) if kwargs.get("help") else kwargs.get("help")
        for param in kwargs.get("params") or []:
            if getattr(param, "help", None):
                param.help = escape(param.help)
            if param.param_type_name == "argument" and param.metavar is None:
                param.metavar = (param.name or "").upper()
            elif getattr(param, "is_flag", False) and param.metavar is None:
                param.metavar = ""  # a flag takes no value: no <bool> placeholder
        super().__init__(*args, **kwargs)

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.metavar = ""
        return option


class Command(_HelpStyle, TyperCommand):
    """A command whose help is plain text, whose flags show no value and whose arguments read in capitals."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name == "argument":
                name = param.metavar or (param.name or "").upper()
                pieces.append((name if param.required else f"[{name}]") + ("..." if param.nargs != 1 else ""))
        return pieces


class Group(_HelpStyle, TyperGroup):
    """A group of commands with plain-text help, listed in the order of ``order`` (then the others)."""

    order: tuple[str, ...] = ()

    def list_commands(self, ctx: Any) -> list[str]:
        names = super().list_commands(ctx)
        rank = {name: i for i, name in enumerate(self.order)}
        return sorted(names, key=lambda n: (rank.get(n, len(rank)), names.index(n)))


class App(typer.Typer):
    """A Typer app of :class:`Command` commands in a :class:`Group` listed in ``order``."""

    def __init__(self, *, order: tuple[str, ...] = (), **kwargs: Any) -> None:
        group = type("OrderedGroup", (Group,), {"order": tuple(order)})
        kwargs.setdefault("no_args_is_help", True)
        kwargs.setdefault("add_completion", False)
        super().__init__(cls=group, rich_markup_mode="rich", **kwargs)

    def command(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("cls", Command)
        return super().command(*args, **kwargs)
