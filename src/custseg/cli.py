"""The ``custseg`` command: a thin shell over the library.

Each command parses its options, calls one library function and prints. Exit
status: 0 success, 1 bad data or usage (one line on stderr), 2 an internal
error (a short message; the traceback goes to a log file, or to the terminal
with --debug).
"""

from __future__ import annotations

import sys
import tempfile
import traceback
from pathlib import Path

import click

from . import __version__
from .errors import CustsegError

ISSUES_URL = "https://github.com/custseg/custseg/issues"
EXIT_OK, EXIT_USER, EXIT_INTERNAL = 0, 1, 2


def _features(values: tuple[str, ...]) -> tuple[str, ...] | None:
    """--features may be repeated and each may hold a comma-separated list."""
    out: list[str] = []
    for v in values:
        out.extend(part.strip() for part in v.split(",") if part.strip())
    return tuple(out) or None


def _progress(quiet: bool):
    if quiet:
        return None

    def say(message: str) -> None:
        click.echo(f"... {message}", err=True)

    return say


def _print_summary(doc: dict, out: Path) -> None:
    from .report.text import summary_lines

    for line in summary_lines(doc):
        click.echo(line)
    click.echo(f"\nResults in {out}/")


segment_options = [
    click.option(
        "--features",
        "-f",
        multiple=True,
        help="Columns to cluster on, comma-separated; may be repeated. "
        "Default: every numeric column but the id.",
    ),
    click.option("--id", "id_column", default=None, help="Id column (default: detected)."),
    click.option(
        "--method",
        type=click.Choice(["kmeans", "hierarchical"]),
        default="kmeans",
        show_default=True,
    ),
    click.option(
        "--linkage",
        type=click.Choice(["ward", "complete", "average", "single"]),
        default="ward",
        show_default=True,
        help="Hierarchical linkage.",
    ),
    click.option(
        "--k", "k", default="auto", show_default=True, help="Number of segments, or 'auto'."
    ),
    click.option("--k-min", default=2, show_default=True, type=int),
    click.option("--k-max", default=10, show_default=True, type=int),
    click.option(
        "--k-rule",
        type=click.Choice(
            ["auto", "elbow", "dendrogram", "silhouette", "calinski", "davies", "consensus"]
        ),
        default="auto",
        show_default=True,
        help="How --k auto chooses (auto: elbow for k-means, dendrogram gap for hierarchical).",
    ),
    click.option(
        "--scale",
        type=click.Choice(["standard", "minmax", "robust", "none"]),
        default="standard",
        show_default=True,
    ),
    click.option(
        "--missing",
        type=click.Choice(["drop", "impute", "error"]),
        default="drop",
        show_default=True,
        help="Rows with missing feature values.",
    ),
    click.option("--seed", default=0, show_default=True, type=int),
    click.option("--n-init", default=10, show_default=True, type=int, help="k-means restarts."),
    click.option(
        "--sample",
        default=None,
        type=int,
        help="Segment a random sample of this many customers (quick exploration).",
    ),
    click.option(
        "--playbook",
        type=click.Path(dir_okay=False),
        default=None,
        help="YAML playbook replacing the default recommendations.",
    ),
    click.option("--sheet", default=None, help="Excel sheet (default: the first)."),
    click.option("--engine", default="local", show_default=True, help="Compute engine."),
    click.option("--no-plots", is_flag=True, help="Skip the PNG plots."),
    click.option("--quiet", "-q", is_flag=True, help="Print only the summary."),
]


def _apply(options):
    def decorator(f):
        for option in reversed(options):
            f = option(f)
        return f

    return decorator


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="custseg")
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Customer segmentation: named segments with recommended actions.

    \b
    Example:
        custseg demo --out demo/
        custseg segment customers.csv --out result/
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def _run_segment(
    path,
    out,
    features,
    id_column,
    method,
    linkage,
    k,
    k_min,
    k_max,
    k_rule,
    scale,
    missing,
    seed,
    n_init,
    sample,
    playbook,
    sheet,
    engine,
    no_plots,
    quiet,
):
    from .config import SegmentationConfig
    from .outputs import write_results
    from .pipeline import segment

    config = SegmentationConfig(
        method=method,
        k=k,
        k_min=k_min,
        k_max=k_max,
        k_rule=k_rule,
        scale=scale,
        missing=missing,
        linkage=linkage,
        features=_features(features),
        id_column=id_column,
        seed=seed,
        n_init=n_init,
        engine=engine,
        sample=sample,
        playbook=playbook,
    )
    from ._atomic import check_replaceable

    check_replaceable(Path(out))  # fail before the work, not after it
    import warnings

    from .errors import SegmentationWarning
    from .progress import step_progress

    with step_progress(quiet) as say:  # a spinner per step on a terminal; Ctrl-C safe
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SegmentationWarning)  # reported in the summary
            result = segment(path, config, sheet=sheet, progress=say)
        if say:
            say("writing results")
        write_results(result, out, plots=not no_plots)
    _print_summary(result.to_dict(), Path(out))


@cli.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "-o",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the results (replaced atomically).",
)
@_apply(segment_options)
def segment(path: Path, out: Path, **options) -> None:
    """Segment the customers in PATH (CSV, Parquet or .xlsx) and write results to --out.

    Writes segments.json, segments.csv, assignments.csv, model.json and PNG plots.

    \b
    Examples:
        custseg segment customers.csv --out result/
        custseg segment customers.csv -f "Annual Income (k$),Spending Score (1-100)" --out result/
        custseg segment customers.csv --method hierarchical \\
            --features "Age,Spending Score (1-100)" --scale none --out result/
    """
    _run_segment(path, out, **options)


@cli.command()
@click.option(
    "--out",
    "-o",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the demo table and results.",
)
@click.option("--rows", default=1000, show_default=True, type=int, help="Number of customers.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option(
    "--method", type=click.Choice(["kmeans", "hierarchical"]), default="kmeans", show_default=True
)
@click.option("--quiet", "-q", is_flag=True, help="Print only the summary.")
def demo(out: Path, rows: int, seed: int, method: str, quiet: bool) -> None:
    """Generate a realistic demo customer table and segment it.

    Writes customers.csv (the generated table) and the results into --out.

    \b
    Example:
        custseg demo --out demo/
    """
    from .config import SegmentationConfig
    from .data.demo import make_customers
    from .data.loading import LoadedTable
    from .outputs import write_results
    from .pipeline import segment as run

    if rows < 10:
        raise click.UsageError(f"--rows {rows} is too small for a demo; use at least 10")
    frame = make_customers(rows, seed=seed)
    table = LoadedTable(
        frame=frame, source="customers.csv (generated demo data)", file_format="csv"
    )
    config = SegmentationConfig(
        method=method,
        seed=seed,
        features=("Age", "Annual Income (k$)", "Spending Score (1-100)")
        if method == "hierarchical"
        else ("Annual Income (k$)", "Spending Score (1-100)"),
    )
    result = run(table, config, progress=_progress(quiet))
    write_results(
        result, out, extra_files={"customers.csv": frame.to_csv(index=False).encode("utf-8")}
    )
    _print_summary(result.to_dict(), out)


@cli.command()
@click.argument("model_path", metavar="MODEL", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Output file (.csv).",
)
@click.option("--sheet", default=None, help="Excel sheet (default: the first).")
def assign(model_path: Path, path: Path, out: Path, sheet: str | None) -> None:
    """Assign the customers in PATH to the segments of a saved MODEL (model.json).

    \b
    Example:
        custseg assign result/model.json new_customers.csv --out new_assigned.csv
    """
    from ._atomic import atomic_write_text
    from .data.loading import load_table
    from .model import load_model
    from .outputs import safe_csv

    model = load_model(model_path)
    table = load_table(path, sheet=sheet)
    assigned = model.assign(table.frame)
    atomic_write_text(out, safe_csv(assigned))
    n_ok = int(assigned["segment"].notna().sum())
    n_atyp = int(assigned["atypical"].fillna(False).sum())
    click.echo(
        f"{n_ok:,} of {len(assigned):,} customers assigned to {model.k} segments; "
        f"{n_atyp:,} atypical; written to {out}"
    )


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI and map errors to exit codes."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        cli.main(args=args, prog_name="custseg", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("Interrupted; nothing was written.", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        click.echo("Interrupted; nothing was written.", err=True)
        sys.exit(130)
    except click.UsageError as exc:
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx else ""
        click.echo(f"Error: {exc.format_message()}{hint}", err=True)
        sys.exit(EXIT_USER)
    except click.ClickException as exc:
        click.echo(f"Error: {exc.format_message()}", err=True)
        sys.exit(EXIT_USER)
    except CustsegError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(EXIT_USER)
    except Exception as exc:  # an internal error: a bug in custseg
        if debug:
            traceback.print_exc()
        else:
            log = Path(tempfile.gettempdir()) / "custseg-error.log"
            try:
                log.write_text(traceback.format_exc(), encoding="utf-8")
                where = f"details in {log}"
            except OSError:
                where = "rerun with --debug for details"
            click.echo(
                f"Internal error: {type(exc).__name__}: {exc}. This is a bug in custseg; "
                f"{where}. Please report it at {ISSUES_URL}",
                err=True,
            )
        sys.exit(EXIT_INTERNAL)
    sys.exit(EXIT_OK)
