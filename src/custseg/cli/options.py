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


def _spark_conf(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> dict:
    """``--spark-conf KEY=VALUE`` entries as a dict; only ``spark.*`` keys."""
    conf: dict[str, str] = {}
    for entry in values:
        key, sep, value = entry.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or not value:
            raise click.BadParameter(
                f"{entry!r} is not KEY=VALUE; e.g. --spark-conf spark.executor.memory=4g"
            )
        if not key.startswith("spark."):
            raise click.BadParameter(
                f"{key!r} is not a Spark setting; only spark.* keys are passed to Spark "
                "(Hadoop settings go as spark.hadoop.*)"
            )
        conf[key] = value
    return conf


#: Options of every command with ``--engine``: where Spark runs and its settings. They
#: choose the machine, not the analysis, so they are not recorded in the model.
spark_options = [
    click.option(
        "--spark-master",
        default=None,
        metavar="URL",
        help="Where Spark runs with --engine spark (default: $SPARK_MASTER, else local[*]: "
        "every core of this computer). Under spark-submit its master is used.",
    ),
    click.option(
        "--spark-conf",
        multiple=True,
        metavar="KEY=VALUE",
        callback=_spark_conf,
        help="A spark.* setting for --engine spark, e.g. spark.executor.memory=4g; may be "
        "repeated.",
    ),
]


def start_engine(engine: str, spark_master: str | None, spark_conf: dict[str, str]) -> str | None:
    """Start (or join) the engine's session before the run; what it did, to say.

    Raises
    ------
    ConfigError
        ``--spark-master`` or ``--spark-conf`` given with another engine than spark.
    """
    from ..errors import ConfigError

    if engine != "spark":
        if spark_master is not None or spark_conf:
            flag = "--spark-master" if spark_master is not None else "--spark-conf"
            raise ConfigError(f"{flag} applies to --engine spark only (this run is {engine})")
        return None
    from ..engines.contract import get_data_engine

    get_data_engine("spark")  # a clear error when pyspark is not installed
    from ..engines.spark import SparkEngine

    started = SparkEngine(master=spark_master, conf=spark_conf)
    _ = started.session
    return started.note
