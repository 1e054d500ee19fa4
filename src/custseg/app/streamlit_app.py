"""The custseg web page (Streamlit). Start it with ``custseg app``.

The page computes nothing itself: uploads go through
:func:`custseg.data.loading.read_bytes_as_table` (the CLI's loader and
messages), segments come from :func:`custseg.pipeline.segment`, plots from
:mod:`custseg.report.plots`, assignments from :meth:`SegmentModel.assign`.
Results are cached per browser session (``st.cache_data(scope="session")``),
so moving the k control re-runs only the clustering, never the file reading,
and everything cached is dropped when the session ends.
"""

from __future__ import annotations

import hashlib
import json
import sys
import traceback
import warnings
from dataclasses import replace
from typing import Any

import pandas as pd
import streamlit as st

from custseg import __version__
from custseg.app import files
from custseg.app.edits import EditedResult, SegmentEdit, apply_edits
from custseg.app.form import options_form
from custseg.app.markdown import md
from custseg.config import SegmentationConfig, option_of
from custseg.data.columns import describe_columns
from custseg.data.loading import LoadedTable, read_bytes_as_table
from custseg.data.prepare import PreparedData
from custseg.errors import CustsegError, SegmentationWarning
from custseg.features.roles import default_registry, load_registry
from custseg.model import SegmentModel
from custseg.outputs import safe_csv
from custseg.pipeline import prepare_input, segment_prepared
from custseg.report import charts
from custseg.report.palette import segment_colour
from custseg.results import KSelection, Segment, SegmentationResult
from custseg.rfm import RFMResult, rfm, transaction_log_message

ISSUES_URL = "https://github.com/custseg/custseg/issues"
# .xls is accepted so that the loader can say how to convert it, as the CLI does.
UPLOAD_TYPES = ["csv", "tsv", "txt", "gz", "parquet", "pq", "xlsx", "xlsm", "xls"]
DEMO_NAME = "demo_customers.csv"
# Session-state key of the bytes offered for download (read by the tests too).
DOWNLOADS = "custseg_downloads"


# --- cached steps (per browser session) ------------------------------------------------
@st.cache_data(scope="session", max_entries=4, show_spinner="Reading the file…")
def load_upload(data: bytes, name: str) -> tuple[LoadedTable, pd.DataFrame | None]:
    """Read an upload once; the k control and the option form reuse it. A transaction
    log has no column description (``None``): it goes to the RFM view instead."""
    table = read_bytes_as_table(data, name)
    if transaction_log_message(table.frame, name):
        return table, None
    return table, describe_columns(table.frame)


@st.cache_data(scope="session", max_entries=8, show_spinner=False)
def described(data_key: str, roles_json: str, _table: LoadedTable) -> pd.DataFrame:
    """The columns' roles and uses with the user's roles (cached by file and roles)."""
    roles = json.loads(roles_json)
    load_registry(roles)  # a role the registry does not know: one clear error
    return describe_columns(_table.frame, roles=roles)


@st.cache_data(scope="session", max_entries=1, show_spinner=False)
def demo_bytes() -> bytes:
    return files.demo_csv()


@st.cache_data(scope="session", max_entries=4, show_spinner=False)
def prepared_input(data_key: str, prepare_json: str, _table: LoadedTable) -> PreparedData:
    """The validated table, cached by file digest and options other than k: a move of the
    k slider reuses it (reading and checking 100,000 customers takes about 0.4 s)."""
    config = SegmentationConfig.from_dict(json.loads(prepare_json))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SegmentationWarning)  # shown from result.warnings
        return prepare_input(_table, config)


@st.cache_data(scope="session", max_entries=16, show_spinner=False)
def run_segmentation(
    data_key: str, config_json: str, _table: LoadedTable, _progress=None, _known=None
) -> SegmentationResult:
    """The pipeline, cached by file digest and options (``_table`` is keyed by ``data_key``;
    ``_known``, the automatic run's k selection for a run of one k, by them too)."""
    config = SegmentationConfig.from_dict(json.loads(config_json))
    default = SegmentationConfig()
    any_k = replace(config, k=default.k, k_min=default.k_min, k_max=default.k_max)
    prepared = prepared_input(data_key, json.dumps(any_k.to_dict(), sort_keys=True), _table)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SegmentationWarning)  # shown from result.warnings
        return segment_prepared(prepared, config, progress=_progress, known=_known)


@st.cache_data(scope="session", max_entries=4, show_spinner=False)
def run_rfm(data_key: str, _table: LoadedTable) -> RFMResult:
    """``custseg rfm`` on an uploaded transaction log, cached by file digest."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SegmentationWarning)
        return rfm(_table.frame)


@st.cache_data(scope="session", max_entries=16, show_spinner=False)
def k_plots(run_key: str, _result: SegmentationResult) -> tuple[str, str]:
    # SVG drawn directly (no matplotlib): st.image shows it as an <img>, where nothing runs.
    return charts.elbow_svg(_result), charts.silhouette_svg(_result)


@st.cache_data(scope="session", max_entries=16, show_spinner=False)
def named_plots(run_key: str, names_json: str, _result: SegmentationResult) -> dict[str, str]:
    out = {"profiles": charts.profiles_svg(_result)}
    if _result.dendrogram is not None:
        out["dendrogram"] = charts.dendrogram_svg(_result)
    return out


@st.cache_data(scope="session", max_entries=4, show_spinner="Reading the model…")
def load_model_upload(data: bytes, name: str) -> SegmentModel:
    return files.read_model_bytes(data, name)


# --- helpers ---------------------------------------------------------------------------
#: What a column can be set to besides a registry role (see docs/guide.md, "Overriding").
USES = ("feature", "descriptor", "ignore")
#: The words for a column's use under the columns table.
USE_WORDS = {
    "feature": "clustered on",
    "descriptor": "described, not clustered on",
    "id": "customer id",
    "excluded": "left out",
    "derived-from": "used to derive a feature",
}


def role_editor(data_key: str, columns: pd.DataFrame) -> dict | None:
    """The columns table, with the role column editable; the user's roles (``--roles``'s
    ``columns:``) when any role was changed, else ``None``."""
    registry = default_registry()
    detected = [r for r in columns["role"] if r]
    choices = sorted({r.name for r in registry.roles} | set(USES) | set(detected))
    shown = columns[["column", "kind", "role", "empty", "distinct", "example"]]
    edited = st.data_editor(
        shown,
        key=f"roles-{data_key}",
        hide_index=True,
        width="stretch",
        disabled=[c for c in shown.columns if c != "role"],
        column_config={
            "role": st.column_config.SelectboxColumn(
                "role",
                options=choices,
                required=True,
                help="What the column is: a role of the registry, or feature (cluster on "
                "it), descriptor (profile it, do not cluster on it) or ignore. Roles choose "
                "the default features and the words of names and actions.",
            )
        },
    )
    changed = {
        str(col): str(new)
        for col, new, old in zip(columns["column"], edited["role"], columns["role"])
        if new and new != old
    }
    return {"columns": changed} if changed else None


def method_label(method: str) -> str:
    """The form's words for a method (e.g. "k-means")."""
    app = option_of("method").app
    labels = (app.choice_labels if app else None) or {}
    return labels.get(method, method)


def upload_limit_mb() -> int:
    return int(st.get_option("server.maxUploadSize"))


def segmented(
    data_key: str,
    config: SegmentationConfig,
    table: LoadedTable,
    known: KSelection | None = None,
) -> SegmentationResult:
    """Run (or fetch) a segmentation, showing each pipeline step while it runs.

    ``known``: the automatic run's k selection, for a run of one of its k (the slider).
    """
    slot = st.empty()
    try:
        with slot.status(f"Segmenting {len(table.frame):,} customers…", expanded=False) as status:

            def progress(message: str) -> None:
                status.update(label=f"{message[:1].upper()}{message[1:]}…")

            config_json = json.dumps(config.to_dict(), sort_keys=True)
            return run_segmentation(data_key, config_json, table, _progress=progress, _known=known)
    finally:
        slot.empty()  # the progress box goes; errors are shown by the caller


def run_key(data_key: str, config: SegmentationConfig) -> str:
    text = data_key + json.dumps(config.to_dict(), sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def structure_message(sel: KSelection) -> None:
    """Whether there is group structure at all, and how stability was measured."""
    if sel.clear_structure is False:
        st.warning(
            f"{sel.structure_note} These segments are a partition of a continuum: a useful "
            "way to divide customers, not natural groups."
        )
    elif sel.structure_note:
        st.caption(sel.structure_note)
    if sel.stability_resamples:
        st.caption(
            "Each segment's stability is its mean Jaccard agreement with its best match over "
            f"{sel.stability_resamples} bootstrap resamples (0.85 or more highly stable, "
            "0.75 stable, 0.6 fairly stable, below 0.6 unstable)."
        )


def _use_demo() -> None:
    st.session_state["use_demo"] = True
    # A new key empties the file uploader, so the demo is what is shown.
    st.session_state["upload_gen"] = st.session_state.get("upload_gen", 0) + 1


def _upload_changed() -> None:
    st.session_state["use_demo"] = False


def choose_source() -> tuple[str, bytes] | None:
    limit = upload_limit_mb()
    left, right = st.columns([4, 1], vertical_alignment="center")
    uploaded = left.file_uploader(
        f"Customer table: CSV, Excel (.xlsx) or Parquet, up to {limit} MB",
        type=UPLOAD_TYPES,
        key=f"upload-{st.session_state.get('upload_gen', 0)}",
        on_change=_upload_changed,
    )
    right.button("Try the demo data", on_click=_use_demo, width="stretch")
    st.caption(
        f"Upload limit: {limit} MB per file. Your data stays on this computer: it is held in "
        "memory for this browser session only, and nothing is sent anywhere."
    )
    if uploaded is not None:
        return files.display_name(uploaded.name), uploaded.getvalue()
    if st.session_state.get("use_demo"):
        return DEMO_NAME, demo_bytes()
    return None


def _edit_keys(rkey: str, sid: int) -> tuple[str, str, str]:
    return (f"name-{rkey}-{sid}", f"title-{rkey}-{sid}", f"action-{rkey}-{sid}")


def current_edits(rkey: str, result: SegmentationResult) -> dict[int, SegmentEdit]:
    """The edit fields' values (initialised to the generated names and actions)."""
    edits = {}
    for seg in result.segments:
        keys = _edit_keys(rkey, seg.id)
        defaults = (seg.name, seg.recommendation.title, seg.recommendation.action)
        for key, default in zip(keys, defaults):
            st.session_state.setdefault(key, default)
        edits[seg.id] = SegmentEdit(*(st.session_state[k] for k in keys))
    return edits


def segment_card(seg: Segment, result: SegmentationResult, rkey: str) -> None:
    pop = result.population
    with st.container(border=True):
        st.markdown(f"#### {seg.id} · {md(seg.name)}")
        st.caption(
            f"{seg.size:,} customers · {seg.share:.0%} of those segmented"
            + (
                f" · stability {seg.stability:.2f} ({seg.stability_reading})"
                if seg.stability is not None
                else ""
            )
        )
        lines = []
        # Features by how much they set the segment apart, as in the report's cards.
        order = list(seg.levels)
        ranked = sorted(
            order,
            key=lambda f: (-abs((seg.evidence.get(f) or {}).get("effect") or 0.0), order.index(f)),
        )
        for feature in ranked:
            mean = seg.stats[feature].mean
            lines.append(
                f"- **{md(feature)}**: {seg.levels[feature]} (mean {mean:,.1f}; all customers "
                f"{pop[feature].mean:,.1f})"
            )
        described = sorted(seg.described.items(), key=lambda kv: -abs(kv[1].get("effect") or 0))
        for column, d in described[:6]:
            rate = d.get("kind") == "flag"
            value, base = (
                (f"{d['mean']:.0%}", f"{d['base']:.0%}")
                if rate
                else (f"{d['mean']:,.1f}", f"{d['base']:,.1f}")
            )
            lines.append(
                f"- {md(column)}: {d['level']} ({'rate' if rate else 'mean'} {value}; "
                f"all customers {base}; not clustered on)"
            )
        for column, shares in seg.categories.items():
            if column in seg.described:
                continue
            top = sorted(shares.items(), key=lambda kv: -kv[1])[:3]
            lines.append(f"- **{md(column)}**: " + ", ".join(f"{md(v)} {p:.0%}" for v, p in top))
        st.markdown("\n".join(lines))
        if seg.rule:
            st.caption(
                f"Who is in it: {md(seg.rule['text'])} (covers {seg.rule['recall']:.0%} of the "
                f"segment; {seg.rule['precision']:.0%} of customers matching it are in it)"
            )
        rec = seg.recommendation
        st.markdown(f"**Action: {md(rec.title)}**")
        st.markdown(md(rec.action))
        if rec.reason:
            st.caption(f"Why: {md(rec.reason)}.")
        for more in seg.more_actions:
            st.caption(f"Also fits: {md(more.title)} ({md(more.reason)}).")
        name_key, title_key, action_key = _edit_keys(rkey, seg.id)
        with st.expander("Rename or edit the action"):
            st.text_input("Segment name", key=name_key)
            st.text_input("Action headline", key=title_key)
            st.text_area("Action", key=action_key, height=110)


def scatter(result: SegmentationResult) -> None:
    proj = result.projection
    if proj is None:
        return
    names = {s.id: s.name for s in result.segments}
    labels = [f"{sid}: {names[sid]}" for sid in sorted(names)]
    frame = pd.DataFrame(
        {
            "x": proj.x,
            "y": proj.y,
            "segment": [f"{s}: {names[int(s)]}" for s in proj.segment],
            "customer": list(proj.ids),
        }
    )
    ev = proj.explained_variance
    titles = [f"{proj.axes[i]} ({ev[i]:.0%} of variance)" if ev else proj.axes[i] for i in (0, 1)]
    spec = {
        "height": 440,
        "mark": {"type": "circle", "opacity": 0.75, "size": 36},
        "params": [{"name": "zoom", "select": "interval", "bind": "scales"}],
        "encoding": {
            "x": {
                "field": "x",
                "type": "quantitative",
                "title": titles[0],
                "scale": {"zero": False},
            },
            "y": {
                "field": "y",
                "type": "quantitative",
                "title": titles[1],
                "scale": {"zero": False},
            },
            "color": {
                "field": "segment",
                "type": "nominal",
                "scale": {"domain": labels, "range": [segment_colour(s) for s in sorted(names)]},
                "legend": {"orient": "bottom", "columns": 2, "labelLimit": 400, "title": None},
            },
            "tooltip": [
                {"field": "customer", "title": result.data.id_column or "row"},
                {"field": "segment"},
                {"field": "x", "title": titles[0], "format": ",.2f"},
                {"field": "y", "title": titles[1], "format": ",.2f"},
            ],
        },
    }
    st.vega_lite_chart(frame, spec, width="stretch")
    if proj.sampled:
        st.caption(f"A random sample of {len(proj.x):,} of {proj.n_total:,} customers.")
    st.caption("Drag to pan, scroll to zoom, hover for a customer's id.")


def downloads(result: SegmentationResult, edited: EditedResult) -> None:
    names = dict(edited.names)
    offered: dict[str, Any] = {
        # Built when its button is clicked: a CSV line per customer (a quarter of a second
        # at 100,000 customers) and the report's charts would otherwise be built on every
        # rerun, e.g. each change of k.
        "assignments.csv": lambda: files.assignments_csv(result, names),
        "model.json": files.model_json(edited.model),
        "report.html": lambda: files.report_html(edited.result),
    }
    st.session_state[DOWNLOADS] = offered
    mime = {"assignments.csv": "text/csv", "model.json": "application/json"}
    cols = st.columns(3)
    for col, (name, data) in zip(cols, offered.items()):
        col.download_button(
            f"Download {name}",
            data=data,
            file_name=name,
            mime=mime.get(name, "text/html"),
            on_click="ignore",
            width="stretch",
        )


def rfm_view(data_key: str, table: LoadedTable) -> None:
    """A transaction log: one row per customer (RFM), the named RFM segments, clusters."""
    st.info(
        "This looks like a transaction log (customer ids repeat, with dates and amounts): "
        "custseg turns it into one row per customer with recency, frequency and monetary "
        "value, as `custseg rfm` does (rules in docs/rfm.md)."
    )
    try:
        with st.spinner("Computing recency, frequency and monetary value per customer…"):
            result = run_rfm(data_key, table)
    except CustsegError as exc:
        st.error(f"Error: {md(exc)}")
        return
    summary = result.summary
    cols = summary.columns
    st.caption(
        f"{summary.n_lines:,} lines ({summary.n_purchase_lines:,} purchases, "
        f"{summary.n_return_lines:,} returns) from {summary.first_date} to {summary.last_date}; "
        f"as of {summary.as_of} ({summary.as_of_chosen_by}); customer {md(repr(cols.customer))}, "
        f"date {md(repr(cols.date))}"
    )
    for reason, count in summary.left_out.items():
        if count:
            st.warning(f"{count:,} line(s) left out: {md(reason)}")
    for note in summary.repairs:
        st.info(md(note))
    scored = result.scored
    st.subheader(f"RFM segments of {len(scored):,} customers")
    counts = scored["rfm_segment"].value_counts()
    st.dataframe(
        pd.DataFrame(
            {
                "RFM segment": counts.index,
                "customers": counts.to_numpy(),
                "share": [f"{v / max(len(scored), 1):.0%}" for v in counts.to_numpy()],
            }
        ),
        hide_index=True,
    )
    clustering = result.clustering
    if clustering is not None:
        st.subheader(f"{clustering.k} behaviour clusters")
        st.write(md(clustering.k_selection.note))
        rkey = f"rfm-{data_key}"
        grid = st.columns(min(3, len(clustering.segments)))
        for i, seg in enumerate(clustering.segments):
            with grid[i % len(grid)]:
                segment_card(seg, clustering, rkey)
    data = safe_csv(result.customers).encode("utf-8")  # formulas neutralised, as on disk
    st.session_state[DOWNLOADS] = {"customers.csv": data}
    st.download_button(
        "Download customers.csv",
        data=data,
        file_name="customers.csv",
        mime="text/csv",
        on_click="ignore",
    )


# --- pages -----------------------------------------------------------------------------
def segment_page() -> None:
    source = choose_source()
    if source is None:
        st.info("Upload a customer table, or click **Try the demo data**.")
        return
    name, data = source
    try:
        files.check_size(data, name, upload_limit_mb())
        table, columns = load_upload(data, name)
    except CustsegError as exc:
        st.error(f"Error: {md(exc)}")
        return
    # The name is part of the key: it is recorded as the result's source.
    data_key = hashlib.sha256(name.encode("utf-8") + b"\0" + data).hexdigest()[:16]

    st.subheader("Data")
    st.caption(
        f"{md(name)}: {len(table.frame):,} rows × {table.frame.shape[1]} columns "
        f"({table.file_format})"
    )
    for note in table.repairs:
        st.info(md(note))
    if columns is None:
        rfm_view(data_key, table)
        return
    left, right = st.columns([2, 3])
    with left:
        st.markdown("**Columns, their detected types and roles**")
        roles = role_editor(data_key, columns)
        try:
            if roles is not None:
                columns = described(data_key, json.dumps(roles, sort_keys=True), table)
        except CustsegError as exc:
            st.error(f"Error: {md(exc)}")
            return
        uses = columns.groupby("use", sort=False)["column"].apply(list).to_dict()
        st.caption(
            ("With your roles: " if roles else "By role: ")
            + "; ".join(
                f"{USE_WORDS.get(use, md(use))}: {', '.join(md(c) for c in cs)}"
                for use, cs in uses.items()
                if use
            )
        )
    with right:
        try:
            config = options_form(data_key, table, columns)
        except CustsegError as exc:
            st.error(f"Error: {md(exc)}")
            return
    if roles is not None:
        config = replace(config, roles=roles)
    if config.features is None:
        st.warning("Pick at least one feature to cluster on.")
        return

    try:
        auto = segmented(data_key, config, table)
    except CustsegError as exc:
        st.error(f"Error: {md(exc)}")
        return
    auto_key = run_key(data_key, config)
    auto_k = auto.k_selection.chosen

    st.subheader("Number of segments")
    ks = [c.k for c in auto.k_selection.candidates]
    k = auto_k
    if len(ks) > 1:
        k = st.select_slider(
            f"Number of segments k (automatic choice: {auto_k})",
            options=ks,
            value=auto_k,
            key=f"k-{auto_key}",
        )
    st.write(md(auto.k_selection.note))
    structure_message(auto.k_selection)
    elbow, silhouette = k_plots(auto_key, auto)
    c1, c2 = st.columns(2)
    c1.image(
        elbow, caption="Inertia by k; the knee and the automatic choice are marked", width="stretch"
    )
    c2.image(
        silhouette, caption="Silhouette by k; the automatic choice is highlighted", width="stretch"
    )

    result, rkey = auto, auto_key
    if k != auto_k:
        # Only the chosen k is clustered: the evidence for every k is the automatic run's
        # (k-means runs each k independently with the same seed, so the labels are the ones
        # a full sweep with this k would give), which keeps k changes quick on large tables.
        fixed = replace(config, k=int(k), k_min=int(k), k_max=int(k))
        try:
            result = segmented(data_key, fixed, table, known=auto.k_selection)
        except CustsegError as exc:
            st.error(f"Error: {md(exc)}")
            return
        rkey = run_key(data_key, fixed)
        result = result.with_k_evidence(auto)
        st.info(f"Showing k = {k}, your choice; the automatic choice is k = {auto_k}.")

    summary = result.data
    dropped = f"; {summary.n_dropped:,} left out" if summary.n_dropped else ""
    st.subheader(f"{result.k} segments")
    st.caption(
        f"{summary.n_used:,} customers segmented{dropped} · features: "
        f"{', '.join(md(f) for f in summary.features)} · {method_label(config.method)} · "
        f"scaling: {config.scale}"
    )
    for message in result.warnings:
        st.warning(md(message))

    edits = current_edits(rkey, result)
    try:
        edited = apply_edits(result, edits)
    except CustsegError as exc:
        st.error(f"Error: {md(exc)}")
        edited = apply_edits(result, {})
    shown = edited.result
    cols = st.columns(min(3, len(shown.segments)))
    for i, seg in enumerate(shown.segments):
        with cols[i % len(cols)]:
            segment_card(seg, shown, rkey)

    pictures = named_plots(rkey, json.dumps(edited.names, sort_keys=True), shown)
    st.subheader("Segment map")
    scatter(shown)
    if "dendrogram" in pictures:
        st.subheader("Dendrogram")
        st.image(pictures["dendrogram"], width="stretch")
    with st.expander("Segment profiles compared with all customers"):
        st.image(pictures["profiles"], width="stretch")

    st.subheader("Download")
    downloads(result, edited)


def assign_page() -> None:
    st.write(
        "Assign new customers to the segments of a saved model (a `model.json` downloaded "
        "from the first tab, or written by `custseg segment`)."
    )
    limit = upload_limit_mb()
    c1, c2 = st.columns(2)
    model_file = c1.file_uploader("Saved model (model.json)", type=["json"], key="assign-model")
    data_file = c2.file_uploader(
        f"New customers: CSV, Excel or Parquet, up to {limit} MB",
        type=UPLOAD_TYPES,
        key="assign-data",
    )
    if model_file is None or data_file is None:
        return
    try:
        model_bytes = model_file.getvalue()
        data = data_file.getvalue()
        files.check_size(model_bytes, model_file.name, limit)
        files.check_size(data, data_file.name, limit)
        model = load_model_upload(model_bytes, files.display_name(model_file.name))
        table, _ = load_upload(data, files.display_name(data_file.name))
        assigned = model.assign(table.frame)
    except CustsegError as exc:
        st.error(f"Error: {md(exc)}")
        return
    n_ok = int(assigned["segment"].notna().sum())
    n_atypical = int(assigned["atypical"].fillna(False).sum())
    st.success(
        f"{n_ok:,} of {len(assigned):,} customers assigned to {model.k} segments; "
        f"{n_atypical:,} atypical (farther from their segment's centre than 99% of its members)."
    )
    counts = assigned["segment_name"][assigned["segment"].notna()].value_counts()
    st.dataframe(counts.rename("customers"), width="content")
    st.dataframe(assigned.head(200), hide_index=True, width="stretch")
    data_out = files.assigned_csv(assigned)
    st.session_state.setdefault(DOWNLOADS, {})["assigned.csv"] = data_out
    st.download_button(
        "Download assigned.csv",
        data=data_out,
        file_name="assigned.csv",
        mime="text/csv",
        on_click="ignore",
    )


def main() -> None:
    st.set_page_config(page_title="custseg", page_icon="📊", layout="wide")
    st.title("custseg · customer segmentation")
    segment_tab, assign_tab = st.tabs(["Segment customers", "Assign new customers"])
    try:
        with segment_tab:
            segment_page()
        with assign_tab:
            assign_page()
    except Exception as exc:  # a bug in custseg: a short message here, details in the console
        traceback.print_exc(file=sys.stderr)
        st.error(
            f"Internal error: {type(exc).__name__}: {md(exc)}. This is a bug in custseg "
            f"{__version__}; details are in the terminal running `custseg app`. "
            f"Please report it at {ISSUES_URL}"
        )


if __name__ == "__main__":
    main()
