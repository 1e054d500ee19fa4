"""Render the report structure as one self-contained, offline HTML file.

Jinja2 (autoescape on) fills ``templates/report.html.j2``; the stylesheet and
the script in ``static/`` are inlined, the charts are inline SVG drawn by
:mod:`custseg.report.plots`, and a Content-Security-Policy forbids every
network request and every script but the report's own (so even an injected
``onerror=`` attribute could not run).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import math
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._cache import cache_dir
from .structure import Report, build_report

if TYPE_CHECKING:
    from ..results import SegmentationResult

_CURRENCY_PREFIX = {"$", "€", "£", "¥"}


def fmt_count(n: int | float | None) -> str:
    """A count with thousands separators: ``12,345``."""
    if n is None:
        return "–"
    return f"{int(n):,}"


def fmt_pct(share: float | None) -> str:
    """A share (0..1) as a percentage: ``35.8%``; tiny shares keep one significant digit."""
    if share is None:
        return "–"
    p = share * 100
    if 0 < p < 0.1:
        return "<0.1%"
    return f"{p:.1f}%" if p < 99.95 or p == 100 else f"{p:.2f}%"


def fmt_num(value: float | None, unit: str | None = None) -> str:
    """A measurement for people: separators, sensible decimals, the column's unit.

    >>> fmt_num(54.8212, "k$"), fmt_num(1234567.8), fmt_num(0.01234), fmt_num(12.0, "$")
    ('54.8 k$', '1,234,568', '0.0123', '$12.0')
    """
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    a = abs(value)
    if a >= 1000:
        text = f"{value:,.0f}"
    elif a >= 1 or a == 0:
        text = f"{value:,.1f}"
    else:
        text = f"{value:.3g}"
    if not unit:
        return text
    if unit in _CURRENCY_PREFIX:
        return f"-{unit}{text[1:]}" if text.startswith("-") else f"{unit}{text}"
    return f"{text}\u00a0{unit}"


def fmt_index(value: float | None, digits: int = 3) -> str:
    """A quality index: fixed decimals below 1,000, separators above."""
    if value is None:
        return "–"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def fmt_z(value: float) -> str:
    """A difference in standard deviations, signed: ``+1.2 sd``."""
    return f"{value:+.1f}\u00a0sd"


def json_for_script(obj: Any) -> str:
    """JSON safe inside ``<script type="application/json">``.

    ``<``, ``>`` and ``&`` become ``\\u003c`` etc., so a value such as
    ``</script>`` or ``<!--`` cannot end or alter the script element.
    """
    text = json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _scope_svg_ids(svg: str, prefix: str) -> str:
    """Prefix the ids inside one SVG so several inline SVGs never share an id."""
    svg = re.sub(r'\bid="([^"]+)"', rf'id="{prefix}-\1"', svg)
    svg = re.sub(r'href="#([^"]+)"', rf'href="#{prefix}-\1"', svg)
    return re.sub(r"url\(#([^)]+)\)", rf"url(#{prefix}-\1)", svg)


def _static(name: str) -> str:
    return resources.files("custseg.report").joinpath("static", name).read_text("utf-8")


@lru_cache(maxsize=1)
def _environment():
    """The report's Jinja2 environment, made once per process. The compiled template is
    kept in custseg's cache folder: compiling it is a tenth of a second of every run."""
    try:
        import jinja2
    except ImportError:  # pragma: no cover - Jinja2 is a core dependency
        from ..errors import ConfigError

        raise ConfigError("the HTML report needs Jinja2: pip install Jinja2") from None

    class QuietCache(jinja2.FileSystemBytecodeCache):
        """A damaged or unwritable cache file only means compiling the template again."""

        def load_bytecode(self, bucket):  # type: ignore[no-untyped-def]
            try:
                super().load_bytecode(bucket)
            except Exception:
                bucket.reset()

        def dump_bytecode(self, bucket):  # type: ignore[no-untyped-def]
            with contextlib.suppress(OSError):
                super().dump_bytecode(bucket)

    folder = cache_dir()
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("custseg.report", "templates"),
        bytecode_cache=None if folder is None else QuietCache(str(folder), "report-%s.jinja2"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(count=fmt_count, pct=fmt_pct, num=fmt_num, index=fmt_index, z=fmt_z)
    return env


def _charts(report: Report) -> dict[str, Any]:
    """Inline SVG of every chart (trusted markup: :mod:`.svg` escapes the text it writes)."""
    from markupsafe import Markup

    from . import charts

    result = report.result
    svgs: dict[str, Any] = {
        "elbow": charts.elbow_svg(result),
        "silhouette": charts.silhouette_svg(result),
        "profiles": {c.id: charts.segment_profile_svg(result, c.id) for c in report.segments},
    }
    if report.has_evidence:
        svgs["evidence"] = charts.evidence_svg(result)
    if result.dendrogram is not None:
        svgs["dendrogram"] = charts.dendrogram_svg(result)
    map_points = None
    if result.projection is not None:
        svgs["map"], positions = charts.map_svg(result)
        map_points = _map_points(result, positions)

    def safe(name: str, svg: str) -> Markup:
        return Markup(_scope_svg_ids(svg, name))  # trusted: report.svg escapes its text

    out: dict[str, Any] = {
        name: safe(name, svg) for name, svg in svgs.items() if isinstance(svg, str)
    }
    out["profiles"] = {sid: safe(f"profile{sid}", svg) for sid, svg in svgs["profiles"].items()}
    out["map_points"] = map_points
    return out


# Feature values in the map's tooltip; beyond this, those that set segments apart most.
MAX_HOVER_FEATURES = 12


def _map_points(result: SegmentationResult, positions: list[tuple[float, float]]) -> dict[str, Any]:
    """What the map's hover script needs: positions, ids, segments and feature values."""
    from .structure import unit_of

    proj = result.projection
    assert proj is not None  # only called for results with a map
    values = proj.values
    if values is None and not proj.explained_variance:
        # Results saved before the projection carried values: the axes are the features.
        values = {a: c for a, c in zip(proj.axes, (proj.x, proj.y)) if a}
    if values and len(values) > MAX_HOVER_FEATURES:
        # A tooltip of 2,000 lines is unreadable and the page would carry every value of
        # every customer: the features whose segment means differ most from the base.
        pop = result.population

        def spread(f: str) -> float:
            std = pop[f].std if f in pop else 0.0
            return max(
                abs(s.centre.get(f, pop[f].mean) - pop[f].mean) / std if std else 0.0
                for s in result.segments
            )

        keep = set(
            sorted((f for f in values if f in pop), key=spread, reverse=True)[:MAX_HOVER_FEATURES]
        )
        values = {f: v for f, v in values.items() if f in keep}
    return {
        "pos": [[x, y] for x, y in positions],
        "ids": list(proj.ids),
        "segment": [int(s) for s in proj.segment],
        "names": {str(s.id): s.name for s in result.segments},
        "features": [
            {"name": f, "unit": unit_of(f), "values": [round(float(x), 6) for x in v]}
            for f, v in (values or {}).items()
        ],
        "idColumn": result.data.id_column or "row",
    }


def _csp(script: str) -> str:
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    return (
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
        f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'"
    )


def render_result(result: SegmentationResult) -> str:
    """The HTML report of a result, as one self-contained page.

    Parameters
    ----------
    result : SegmentationResult
        A run's result, or one read back with :func:`custseg.results_json.load_result`.

    Returns
    -------
    str
        HTML text. It makes no network request: styles, script and charts are
        inline, and its Content-Security-Policy forbids anything else.

    Examples
    --------
    >>> from custseg import make_customers, segment
    >>> html = render_result(segment(make_customers(200)))  # doctest: +SKIP
    """
    report = build_report(result)
    env = _environment()
    script = _static("report.js")
    charts = _charts(report)
    template = env.get_template("report.html.j2")
    return template.render(
        r=report,
        charts=charts,
        map_json=json_for_script(charts["map_points"]) if charts["map_points"] else None,
        css=_static("report.css"),
        script=script,
        csp=_csp(script),
    )


def render_report(doc: dict[str, Any], model_doc: dict[str, Any]) -> str:
    """The HTML report of a saved result (``segments.json`` and ``model.json`` dicts).

    Parameters
    ----------
    doc : dict
        The content of ``segments.json`` (``SegmentationResult.to_dict()``).
    model_doc : dict
        The content of ``model.json`` (``SegmentModel.to_dict()``).

    Returns
    -------
    str
        See :func:`render_result`.

    Raises
    ------
    ReportError
        When the dicts are not a complete custseg result, or come from different runs.

    Examples
    --------
    >>> import json
    >>> from custseg.report import render_report
    >>> doc = json.load(open("result/segments.json"))  # doctest: +SKIP
    >>> html = render_report(doc, json.load(open("result/model.json")))  # doctest: +SKIP
    """
    from ..results_json import load_result

    return render_result(load_result(doc, model_doc))


def write_result_report(result: SegmentationResult, path: str | Path) -> Path:
    """Render the report of ``result`` and write it to ``path`` atomically; return the path."""
    from ..outputs.atomic import atomic_write_text

    atomic_write_text(path, render_result(result))
    return Path(path)


def write_report(doc: dict[str, Any], model_doc: dict[str, Any], path: str | Path) -> Path:
    """Render the report of a saved result and write it to ``path`` atomically.

    See :func:`render_report` for the parameters.
    """
    from ..outputs.atomic import atomic_write_text

    html = render_report(doc, model_doc)
    atomic_write_text(path, html)
    return Path(path)


def _read_saved(path: Path) -> dict[str, Any]:
    from ..errors import ReportError

    if not path.is_file():
        raise ReportError(
            f"'{path}' is missing; point custseg report at a folder written by custseg segment"
        )
    from .._bounded import NestingError, loads_bounded

    try:
        doc = loads_bounded(path.read_text(encoding="utf-8"))
    except NestingError as exc:
        raise ReportError(f"'{path}' is not a custseg result ({exc})") from None
    except UnicodeDecodeError:
        raise ReportError(f"'{path}' is not UTF-8 text; it is not a custseg result") from None
    except json.JSONDecodeError as exc:
        raise ReportError(
            f"'{path}' is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            "rerun custseg segment to rebuild it"
        ) from None
    except OSError as exc:
        raise ReportError(f"cannot read '{path}': {exc.strerror}") from None
    return doc


def write_saved_report(folder: str | Path, out: str | Path | None = None) -> Path:
    """Rebuild ``report.html`` from a results folder, without clustering again.

    Parameters
    ----------
    folder : path
        A folder written by ``custseg segment`` (holding ``segments.json`` and
        ``model.json``), or by ``custseg rfm`` (its ``rfm.json`` adds the RFM section).
    out : path, optional
        Where to write the report; default ``folder/report.html``.

    Returns
    -------
    Path
        The report's path.

    Raises
    ------
    ReportError
        When the folder or either file is missing or invalid.
    """
    from ..errors import ReportError

    folder = Path(folder)
    if not folder.is_dir():
        raise ReportError(f"folder '{folder}' does not exist; give a folder of custseg results")
    doc = _read_saved(folder / "segments.json")
    model_doc = _read_saved(folder / "model.json")
    # A folder of `custseg rfm` also holds rfm.json: its report has the RFM section.
    rfm_doc = _read_saved(folder / "rfm.json") if (folder / "rfm.json").is_file() else None
    target = Path(out) if out else folder / "report.html"
    try:
        html = render_report(doc, model_doc)
        if rfm_doc is not None:
            from ..rfm.report import with_rfm_section

            html = with_rfm_section(html, rfm_doc)
    except ReportError as exc:
        raise ReportError(f"{folder}: {exc}") from None
    except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
        # The saved files were edited into something custseg never writes (a size of
        # "many", a list where a number belongs): a bad input, not a bug.
        saved = (
            "segments.json, model.json or rfm.json" if rfm_doc else "segments.json or model.json"
        )
        raise ReportError(
            f"{folder}: {saved} holds a value custseg never writes "
            f"({type(exc).__name__}: {exc}); rerun custseg to rebuild them"
        ) from None
    from ..outputs.atomic import atomic_write_text

    atomic_write_text(target, html)
    return target
