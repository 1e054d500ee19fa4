"""The ``custseg`` command: a thin shell over the library.

Each command parses its options, calls one library function and prints. Exit
status: 0 success, 1 bad data or usage (one line on stderr), 2 an internal
error (a short message; the traceback goes to a log file, or to the terminal
with --debug).
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import tempfile
import threading
import traceback
from pathlib import Path

import click

from .. import __version__
from ..config import ENGINES
from ..errors import CustsegError
from .options import config_click_options, spark_options

ISSUES_URL = "https://github.com/custseg/custseg/issues"
EXIT_OK, EXIT_USER, EXIT_INTERNAL = 0, 1, 2


def _echo(text: str, err: bool = False) -> None:
    """Print ``text`` with terminal control characters from the data made visible."""
    from .._terminal import safe_line

    click.echo("\n".join(safe_line(part) for part in text.split("\n")), err=err)


def _print_summary(result, out: Path) -> None:
    from ..report.text import summary_lines

    for line in summary_lines(result):
        _echo(line)
    _echo(f"\nResults in {out}/")


# Where a command writes its results folder (segment, rfm).
results_folder_options = [
    click.option(
        "--out",
        "-o",
        required=True,
        type=click.Path(file_okay=False, path_type=Path),
        help="Folder for the results. custseg replaces only the files it wrote there before.",
    ),
    click.option(
        "--force",
        is_flag=True,
        help="Write into a non-empty folder custseg did not create (files with custseg's "
        "names are replaced; nothing else there is touched).",
    ),
]

# Options of the command itself; the analysis options come from SegmentationConfig.
segment_options = [
    click.option("--sheet", default=None, help="Excel sheet (default: the first)."),
    click.option(
        "--png", is_flag=True, help="Also write the charts as PNG files (report.html has them)."
    ),
    # Kept so that existing scripts run: PNGs are now written only with --png.
    click.option("--no-plots", is_flag=True, hidden=True),
    click.option("--quiet", "-q", is_flag=True, help="Print only the summary."),
]


def _rfm_options():
    from ..rfm.cli import RFM_OPTIONS

    return RFM_OPTIONS


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
    sheet,
    no_plots,
    png,
    quiet,
    force=False,
    spark_master=None,
    spark_conf=None,
    **options,
):
    from ..outputs import write_results
    from ..pipeline import segment
    from .options import config_from_cli, start_engine

    config = config_from_cli(options)
    from ..outputs.atomic import check_replaceable

    check_replaceable(out, force=force, inputs=(path,))  # fail before the work, not after it
    note = start_engine(config.engine, spark_master, spark_conf or {})
    if note and not quiet:
        _echo(note, err=True)
    import warnings

    from ..errors import SegmentationWarning
    from ..progress import step_progress

    with step_progress(quiet) as say:  # a spinner per step on a terminal; Ctrl-C safe
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SegmentationWarning)  # reported in the summary
            result = segment(path, config, sheet=sheet, progress=say)
        if say:
            say("writing results")
        write_results(result, out, plots=png and not no_plots, force=force, inputs=(path,))
    _print_summary(result, Path(out))


@cli.command()
# Text, not a Path: a URI such as s3a://lake/customers/ must reach Spark as written.
@click.argument("path", type=click.Path(path_type=str))
@_apply(results_folder_options)
@config_click_options()
@_apply(segment_options)
@_apply(spark_options)
def segment(path: str, out: Path, **options) -> None:
    """Segment the customers in PATH (CSV, Parquet or .xlsx) and write results to --out.

    Writes segments.json, segments.csv, assignments.csv, model.json and
    report.html (one self-contained page to share); with --png also the charts
    as PNG files.

    \b
    Examples:
        custseg segment customers.csv --out result/
        custseg segment customers.csv -f "Annual Income (k$),Spending Score (1-100)" --out result/
        custseg segment customers.csv --method hierarchical \\
            --features "Age,Spending Score (1-100)" --scale none --out result/
        custseg segment customers_q2.csv --previous q1/model.json --out q2/
    """
    _run_segment(path, out, **options)


@cli.command()
# Text, not a Path: with --engine spark a URI such as s3a://lake/invoices/ must reach Spark.
@click.argument("path", type=click.Path(path_type=str))
@_apply(results_folder_options)
@_apply(_rfm_options())
@config_click_options("k", "method", "seed", "engine")
@_apply(spark_options)
def rfm(path: str, out: Path, **options) -> None:
    """Turn a transaction log in PATH into customers: RFM scores, named segments, clusters.

    PATH holds one line per invoice or order line (CSV, Parquet or .xlsx, any
    size). Writes customers.csv / .parquet (one row per customer), rfm.json,
    rfm_segments.csv, rfm_by_cluster.csv, and the cluster results of `segment`
    (segments.json, model.json, report.html). Rules: docs/rfm.md.

    With --engine spark, Spark reads PATH (CSV or Parquet, a Parquet folder, or any
    URI Spark reads) and computes the per-customer table; the scores, segments and
    clusters are then computed here as with --engine local (docs/spark.md).

    \b
    Examples:
        custseg rfm invoices.csv --out rfm/
        custseg rfm orders.parquet --customer client --amount total --as-of 2024-01-01 --out rfm/
        custseg rfm s3a://lake/invoices/ --engine spark --out rfm/
    """
    from ..rfm.cli import run_rfm

    run_rfm(path, out, **options)


@cli.command()
@click.option(
    "--out",
    "-o",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the demo table and results.",
)
@click.option("--rows", default=1000, show_default=True, type=int, help="Number of customers.")
@config_click_options("method", "seed")
@click.option("--png", is_flag=True, help="Also write the charts as PNG files.")
@click.option("--quiet", "-q", is_flag=True, help="Print only the summary.")
def demo(out: Path, rows: int, seed: int, method: str, png: bool, quiet: bool) -> None:
    """Generate a realistic demo customer table and segment it.

    Writes customers.csv (the generated table) and the results, report.html
    included, into --out.

    \b
    Example:
        custseg demo --out demo/
    """
    from ..config import SegmentationConfig
    from ..data.demo import make_customers
    from ..data.loading import LoadedTable
    from ..outputs import write_results
    from ..pipeline import segment as run

    if rows < 10:
        raise click.UsageError(f"--rows {rows} is too small for a demo; use at least 10")
    from ..outputs.atomic import check_replaceable

    check_replaceable(out, names=frozenset({"customers.csv"}))  # before the work
    config = SegmentationConfig(  # first: it validates --seed for the generator too
        method=method,
        seed=seed,
        features=("Age", "Annual Income (k$)", "Spending Score (1-100)")
        if method == "hierarchical"
        else ("Annual Income (k$)", "Spending Score (1-100)"),
    )
    frame = make_customers(rows, seed=seed)
    table = LoadedTable(
        frame=frame, source="customers.csv (generated demo data)", file_format="csv"
    )
    from ..progress import step_progress

    # The same step display as `custseg segment`: one mechanism for both commands.
    with step_progress(quiet) as say:
        result = run(table, config, progress=say)
        if say:
            say("writing results")
        write_results(
            result,
            out,
            plots=png,
            extra_files={"customers.csv": frame.to_csv(index=False).encode("utf-8")},
        )
    _print_summary(result, out)


@cli.command()
@click.argument("model_path", metavar="MODEL", type=click.Path(dir_okay=False, path_type=Path))
# Text, not a Path: a URI such as s3a://lake/new/ must reach Spark as written.
@click.argument("path", type=click.Path(path_type=str))
@click.option(
    "--out",
    "-o",
    required=True,
    type=click.Path(path_type=str),
    help="Output file, .csv or .parquet (written atomically); with --engine spark a new "
    "Parquet folder written by Spark.",
)
@click.option("--sheet", default=None, help="Excel sheet (default: the first).")
@click.option(
    "--chunk-rows",
    default=100_000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Rows read and assigned at a time (bounds memory).",
)
@click.option(
    "--engine",
    type=click.Choice(list(ENGINES)),
    default="local",
    show_default=True,
    help="local (this computer, streamed in chunks) or spark (PATH is Parquet or CSV, a "
    'local path or any URI Spark reads; needs pip install "custseg[spark]").',
)
@_apply(spark_options)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def assign(
    model_path: Path,
    path: str,
    out: str,
    sheet: str | None,
    chunk_rows: int,
    engine: str,
    spark_master: str | None,
    spark_conf: dict[str, str],
    quiet: bool,
) -> None:
    """Assign the customers in PATH to the segments of a saved MODEL (model.json).

    PATH is CSV, Parquet or .xlsx; CSV and Parquet are streamed in chunks, so
    files larger than memory work. Writes the id, segment, segment_name,
    distance, atypical and left_out_reason of every row to --out. With
    --engine spark, Spark reads PATH (a Parquet file or folder, or CSV) and
    writes --out as a Parquet folder; nothing of its size comes to this computer.

    \b
    Examples:
        custseg assign result/model.json new_customers.csv --out new_assigned.csv
        custseg assign result/model.json s3a://lake/new/ --engine spark \\
            --out s3a://lake/new_assigned.parquet
    """
    from ..model import load_model
    from ..model.assign import assign_file
    from ..report.text import assignment_lines
    from .options import start_engine

    model = load_model(model_path)
    from ..rfm.assign import is_rfm_model

    if is_rfm_model(model.features):  # PATH is a transaction log
        from ..rfm.assign import assign_log

        note = start_engine(engine, spark_master, spark_conf)
        if note and not quiet:
            _echo(note, err=True)
        log = path if engine != "local" else Path(path)
        for line in assign_log(
            model, model_path, log, Path(out), sheet=sheet, engine=engine
        ).lines():
            _echo(line)
        return
    note = start_engine(engine, spark_master, spark_conf)
    if note and not quiet:
        _echo(note, err=True)
    with _progress_bar(quiet or engine != "local") as progress:
        summary = assign_file(
            model,
            path if engine != "local" else Path(path),
            out if engine != "local" else Path(out),
            chunk_rows=chunk_rows,
            sheet=sheet,
            progress=progress,
            engine=engine,
        )
    for line in assignment_lines(summary):
        _echo(line)


def _progress_bar(quiet: bool):
    """A rich progress bar on stderr for runs of more than one chunk, when it is a terminal."""
    import contextlib

    if quiet or not sys.stderr.isatty():
        return contextlib.nullcontext(None)
    return _RichProgress()


class _RichProgress:
    def __enter__(self):
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TimeRemainingColumn

        self._bar = Progress(
            "assigning",
            BarColumn(),
            "[progress.percentage]{task.percentage:>3.0f}%",
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._task = None
        self._calls = 0
        return self

    def __call__(self, done: int, total: int | None, unit: str) -> None:
        self._calls += 1
        if self._task is None and self._calls >= 2:  # only long runs (more than one chunk)
            self._bar.start()
            self._task = self._bar.add_task("assign", total=total)
        if self._task is not None:
            self._bar.update(self._task, completed=done)

    def __exit__(self, *exc) -> None:
        if self._task is not None:
            self._bar.stop()


@cli.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--out",
    "-o",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Output file (default: FOLDER/report.html).",
)
def report(folder: Path, out: Path | None) -> None:
    """Rebuild the HTML report from a results FOLDER (segments.json + model.json).

    Nothing is clustered again: the report is drawn from the saved results.

    \b
    Example:
        custseg report result/
    """
    from ..report.html import write_saved_report

    path = write_saved_report(folder, out)
    _echo(f"Report written to {path}")


@cli.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to serve on. Anything but 127.0.0.1/localhost lets other machines in.",
)
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=None,
    help="Port to serve on (default: the first free port from 8501).",
)
@click.option("--no-browser", is_flag=True, help="Do not open a browser (servers, tests).")
@click.option(
    "--max-upload-mb",
    type=click.IntRange(min=1),
    default=200,
    show_default=True,
    help="Largest file the app accepts, in megabytes.",
)
def app(host: str, port: int | None, no_browser: bool, max_upload_mb: int) -> None:
    """Start the web app: upload a table, look at the segments, download the results.

    Runs locally (needs the app extra: pip install "custseg[app]"). Data stays on
    this computer; stop the app with Ctrl+C.

    \b
    Examples:
        custseg app
        custseg app --port 8502 --no-browser
    """
    from ..app.launch import run_app

    code = run_app(
        host=host,
        port=port,
        open_browser=not no_browser,
        max_upload_mb=max_upload_mb,
        say=lambda line: _echo(line, err=True),
    )
    if code:
        raise click.ClickException(f"the app server stopped with exit status {code}")


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is, so it unwinds (and cleans up) like Ctrl-C."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise _Terminated()


def _write_crash_log(text: str) -> Path:
    """The traceback in a new private file (mode 0600, unique name, never through a link)."""
    fd, name = tempfile.mkstemp(prefix="custseg-error-", suffix=".log")  # O_EXCL, 0600
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    return Path(name)


def _internal_error(exc: BaseException, debug: bool) -> None:
    """Report a bug in custseg: one line, the traceback in a private log; exit 2."""
    text = "".join(traceback.format_exception(exc))
    if debug:
        click.echo(text, err=True, nl=False)
    else:
        try:
            where = f"details in {_write_crash_log(text)}"
        except OSError:
            where = "rerun with --debug for details"
        _echo(
            f"Internal error: {type(exc).__name__}: {exc}. This is a bug in custseg; "
            f"{where}. Please report it at {ISSUES_URL}",
            err=True,
        )
    sys.exit(EXIT_INTERNAL)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI and map errors to exit codes."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    previous_handler = None
    if threading.current_thread() is threading.main_thread():
        previous_handler = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        cli.main(args=args, prog_name="custseg", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.Abort as exc:
        # click turns KeyboardInterrupt and EOFError into Abort; only a signal is one.
        cause = exc.__cause__
        if isinstance(cause, _Terminated):
            click.echo("Terminated; nothing was written.", err=True)
            sys.exit(143)
        if isinstance(cause, EOFError):
            _internal_error(cause, debug)
        click.echo("Interrupted; nothing was written.", err=True)
        sys.exit(130)
    except _Terminated:
        click.echo("Terminated; nothing was written.", err=True)
        sys.exit(143)
    except KeyboardInterrupt:
        click.echo("Interrupted; nothing was written.", err=True)
        sys.exit(130)
    except click.UsageError as exc:
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx else ""
        _echo(f"Error: {exc.format_message()}{hint}", err=True)
        sys.exit(EXIT_USER)
    except click.ClickException as exc:
        _echo(f"Error: {exc.format_message()}", err=True)
        sys.exit(EXIT_USER)
    except CustsegError as exc:
        _echo(f"Error: {exc}", err=True)
        sys.exit(EXIT_USER)
    except MemoryError:
        # The memory guard estimates before loading; this is the case it missed.
        click.echo(
            "Error: custseg ran out of memory; segment a smaller file (a random sample of "
            "its rows, or only the columns you need) or use a machine with more memory. "
            "Nothing was written.",
            err=True,
        )
        sys.exit(EXIT_USER)
    except Exception as exc:  # an internal error: a bug in custseg
        _internal_error(exc, debug)
    finally:
        if previous_handler is not None:
            signal.signal(signal.SIGTERM, previous_handler)
        if argv is None:
            # The process ends here. Python's last garbage collection walks every object of
            # pandas, Numba and the result (a quarter of a second after a run); frozen
            # objects are left to the operating system. Files are closed, exit handlers run.
            gc.freeze()
    sys.exit(EXIT_OK)
