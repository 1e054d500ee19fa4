"""One list of options: the CLI, the estimator and the app's form follow SegmentationConfig.

A test here fails when an option is added, renamed or given another default or
choice in one front end and not in the config (or the other way round).
"""

from __future__ import annotations

import os

import click
import pytest

from custseg.cli import cli
from custseg.cli.options import cli_flag, config_from_cli
from custseg.config import SegmentationConfig, config_options, estimator_param

# Options of `custseg segment` about the command, not the analysis.
# --spark-master and --spark-conf choose the machine, not the analysis (not in the model).
COMMAND_ONLY = {
    "out",
    "sheet",
    "no_plots",
    "png",
    "force",
    "quiet",
    "help",
    "spark_master",
    "spark_conf",
}
FIELDS = [name for name, _, _ in config_options()]


def segment_params() -> dict[str, click.Parameter]:
    command = cli.commands["segment"]
    return {p.name: p for p in command.params if p.name and p.name != "path"}


def test_every_option_has_help_and_valid_choices():
    for name, opt, default in config_options():
        assert opt.help.strip(), f"{name} has no help: declare it with option(default, help=...)"
        if opt.choices is not None:
            assert default in opt.choices, name
        if opt.app is not None and opt.app.choice_labels is not None:
            assert set(opt.app.choice_labels) == set(opt.choices or ()), name
        # An option is on the form, or the config says why not.
        assert (opt.app is None) != (opt.app_reason is None), name


def test_cli_options_are_the_config_fields():
    params = segment_params()
    assert set(params) - COMMAND_ONLY == set(FIELDS)
    for name, opt, default in config_options():
        p = params[name]
        assert cli_flag(name, opt) in p.opts
        assert p.help == opt.help
        if opt.choices is not None:
            assert isinstance(p.type, click.Choice) and tuple(p.type.choices) == opt.choices
        expected = () if opt.kind == "names" else default
        assert p.default == expected, name


def test_cli_defaults_give_the_default_config():
    defaults = {name: p.default for name, p in segment_params().items()}
    assert config_from_cli(defaults) == SegmentationConfig()


def test_estimator_parameters_are_the_config_fields():
    from custseg import Segmenter

    params = Segmenter().get_params()
    assert set(params) == {estimator_param(n) for n in FIELDS}
    for name in FIELDS:
        assert params[estimator_param(name)] == getattr(SegmentationConfig(), name), name
    assert Segmenter(sample=50, random_state=3)._config() == SegmentationConfig(sample=50, seed=3)


def test_app_form_shows_the_config_fields_with_a_form_entry():
    pytest.importorskip("streamlit")
    from custseg.app.form import form_fields

    shown = [name for name, _, _ in form_fields()]
    assert shown == [name for name, opt, _ in config_options() if opt.app is not None]
    assert {"method", "scale", "missing", "linkage", "features", "id_column", "sample"} <= set(
        shown
    )


def test_the_page_shows_every_form_field():
    st_testing = pytest.importorskip("streamlit.testing.v1")
    from custseg.app.form import form_fields
    from custseg.app.launch import APP_SCRIPT

    at = st_testing.AppTest.from_file(str(APP_SCRIPT), default_timeout=120).run()
    next(b for b in at.button if b.label == "Try the demo data").click()
    at.run()
    assert not at.exception
    labels = {
        w.label for kind in ("selectbox", "multiselect", "number_input") for w in at.get(kind)
    }
    for name, opt, _ in form_fields():
        assert opt.app is not None and opt.app.label in labels, name


def test_a_local_spark_session_gets_shuffle_partitions_for_its_cores():
    pytest.importorskip("pyspark")  # custseg.engines.spark needs it to import
    from custseg.engines.spark import local_conf

    assert local_conf("local[2]") == {"spark.sql.shuffle.partitions": "4"}
    assert local_conf("local") == {"spark.sql.shuffle.partitions": "2"}
    assert local_conf("local[3,2]") == {"spark.sql.shuffle.partitions": "6"}
    assert local_conf("local[*]") == {
        "spark.sql.shuffle.partitions": str(2 * (os.cpu_count() or 1))
    }
    assert local_conf("spark://head:7077") == {} and local_conf("yarn") == {}
