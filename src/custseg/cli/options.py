"""The options of ``custseg segment``, generated from :class:`~custseg.config.SegmentationConfig`.

One click option per config field, from the field's :class:`~custseg.config.Option`
(flag, help, choices, default); :func:`config_from_cli` turns the parsed values
back into a config. Options of the command itself (``--sheet``, ``--no-plots``,
``--quiet``) stay in :mod:`custseg.cli`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, get_args, get_type_hints

import click

from ..config import Option, SegmentationConfig, config_options


def cli_flag(name: str, opt: Option) -> str:
    """The long flag of a config field: ``--k-min`` for ``k_min`` unless the field says."""
    return opt.flag or "--" + name.replace("_", "-")


def click_option(name: str, opt: Option, default: Any) -> Callable[[Any], Any]:
    """The click option of one config field (its value arrives under the field's name)."""
    decls = [cli_flag(name, opt), *([opt.short] if opt.short else []), name]
    kwargs: dict[str, Any] = {"help": opt.help, "default": default}
    if opt.kind == "names":
        # Repeatable, each a comma-separated list: --features "a,b" -f c.
        kwargs.update(multiple=True, default=())
    elif opt.choices is not None:
        kwargs.update(type=click.Choice(list(opt.choices)), show_default=True)
    elif opt.kind == "path":
        kwargs.update(type=click.Path(dir_okay=False))
    elif _whole_number(name):
        kwargs.update(type=int, show_default=default is not None)
    elif default is not None:
        kwargs.update(show_default=True)
    return click.option(*decls, **kwargs)


def _whole_number(name: str) -> bool:
    """Whether a field holds a whole number only (``int`` or ``int | None``, not ``k``)."""
    hint = get_type_hints(SegmentationConfig)[name]
    kinds = set(get_args(hint)) or {hint}
    return int in kinds and str not in kinds


def config_click_options(*only: str) -> Callable[[Any], Any]:
    """A decorator adding the options of every config field (or of the fields named)."""
    chosen = [(n, o, d) for n, o, d in config_options() if not only or n in only]

    def decorator(f: Any) -> Any:
        for name, opt, default in reversed(chosen):
            f = click_option(name, opt, default)(f)
        return f

    return decorator


def names_list(values: tuple[str, ...]) -> tuple[str, ...] | None:
    """--features may be repeated and each may hold a comma-separated list.

    A name holding a comma is written in double quotes, as in a CSV header:
    ``-f '"Income, net (k$)",Age'``.
    """
    import csv

    out: list[str] = []
    for v in values:
        for row in csv.reader([v], skipinitialspace=True):
            out.extend(part.strip() for part in row if part.strip())
    return tuple(out) or None


def config_from_cli(values: dict[str, Any]) -> SegmentationConfig:
    """The config of parsed option values (keyed by field name; other keys are ignored)."""
    kwargs: dict[str, Any] = {}
    for name, opt, _ in config_options():
        if name not in values:
            continue
        value = values[name]
        kwargs[name] = names_list(value) if opt.kind == "names" else value
    return SegmentationConfig(**kwargs)
