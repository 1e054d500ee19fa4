"""The web app's options form, generated from the fields of :class:`SegmentationConfig`.

Each field whose :class:`~custseg.config.Option` has an ``app`` entry becomes a
form widget with that label, the field's choices and default, and its help;
the others say in ``app_reason`` why the page sets them another way.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from custseg.config import Option, SegmentationConfig, config_options
from custseg.data.columns import default_features, detected_id_column
from custseg.data.loading import LoadedTable


def form_fields() -> list[tuple[str, Option, Any]]:
    """``(field name, Option, default)`` of every option the form shows, in field order."""
    return [(name, opt, default) for name, opt, default in config_options() if opt.app]


def options_form(data_key: str, table: LoadedTable, columns: pd.DataFrame) -> SegmentationConfig:
    """The analysis options; they apply when the form is submitted (or on first view)."""
    names = columns["column"].tolist()
    detected = detected_id_column(table.frame)
    auto_id = f"(detected: {detected})" if detected else "(none detected: row numbers)"
    fields = form_fields()
    values: dict[str, Any] = {}
    with st.form(f"options-{data_key}"):
        # Column lists are wide; the other options sit in two columns below them.
        for name, opt, default in fields:
            if opt.app and opt.app.widget == "features":
                values[name] = _widget(opt, default, names, detected, auto_id, columns)
        narrow = [f for f in fields if f[1].app and f[1].app.widget != "features"]
        cols = st.columns(2)
        for i, (name, opt, default) in enumerate(narrow):
            with cols[i % 2]:
                values[name] = _widget(opt, default, names, detected, auto_id, columns)
        st.form_submit_button("Segment", type="primary")
    return SegmentationConfig(**values)


def _widget(
    opt: Option,
    default: Any,
    names: list[str],
    detected: str | None,
    auto_id: str,
    columns: pd.DataFrame,
) -> Any:
    """Show one option's widget and return the config value it holds."""
    app = opt.app
    assert app is not None  # only fields with a form entry get here
    help_text = app.help or opt.help
    if app.widget == "features":
        chosen = st.multiselect(
            app.label,
            options=[c for c in names if c != detected],
            default=default_features(columns),
            help=help_text,
        )
        return tuple(chosen) if chosen else None
    if app.widget == "id_column":
        choice = st.selectbox(app.label, [auto_id, *names])
        return None if choice == auto_id else choice
    if app.widget == "count":
        number = st.number_input(
            app.label, min_value=0, value=default or 0, step=app.step, help=help_text
        )
        return int(number) or None
    assert opt.choices is not None  # a "select" widget lists the field's choices
    labels = dict(app.choice_labels or {})
    return str(
        st.selectbox(
            app.label,
            opt.choices,
            index=opt.choices.index(default),
            format_func=lambda value: labels.get(value, value),
        )
    )
