"""Options and the run of ``custseg rfm`` (kept here so cli.py stays a thin shell)."""

from __future__ import annotations

from pathlib import Path

import click

from .query import DEFAULT_NON_PRODUCT, RETURNS


def _codes(value: str | None) -> tuple[str, ...]:
    if value is None:
        return DEFAULT_NON_PRODUCT
    return tuple(c.strip() for c in value.split(",") if c.strip())


RFM_OPTIONS = [
    click.option("--customer", default=None, help="Customer id column (default: detected)."),
    click.option("--date", "date_column", default=None, help="Date column (default: detected)."),
    click.option(
        "--invoice",
        default=None,
        help="Invoice or order number column (default: detected; without one, an order is "
        "a day with purchases).",
    ),
    click.option(
        "--amount", default=None, help="Line amount column (instead of --quantity x --price)."
    ),
    click.option("--quantity", default=None, help="Quantity column (default: detected)."),
    click.option("--price", default=None, help="Unit price column (default: detected)."),
    click.option("--product", default=None, help="Product code column (default: detected)."),
    click.option("--currency-column", default=None, help="Currency column (default: detected)."),
    click.option(
        "--currency",
        default=None,
        help="Keep only lines in this currency (needed when the log has several).",
    ),
    click.option(
        "--as-of",
        default=None,
        help="Count recency and tenure to this day, YYYY-MM-DD (default: the day after the "
        "last line).",
    ),
    click.option(
        "--returns",
        type=click.Choice(RETURNS),
        default="net",
        show_default=True,
        help="Cancellations and returns: subtracted from the customer's purchases, or left out.",
    ),
    click.option(
        "--non-product",
        default=None,
        help="Comma-separated product codes that are not products (default: "
        + ",".join(DEFAULT_NON_PRODUCT)
        + "); an empty string keeps every line.",
    ),
    click.option(
        "--segment-map",
        type=click.Path(dir_okay=False),
        default=None,
        help="YAML map from R, F, M scores to named segments (default: custseg's).",
    ),
    click.option("--no-cluster", is_flag=True, help="Scores and named segments only."),
    # --k, --method and --seed come from SegmentationConfig (custseg.cli.options).
    click.option("--sheet", default=None, help="Excel sheet (default: the first)."),
    click.option(
        "--memory-limit",
        default=None,
        help="DuckDB's memory limit, e.g. 2GB (default: half the available memory; "
        "beyond it DuckDB spills to a temporary folder).",
    ),
    click.option(
        "--png", is_flag=True, help="Also write the charts as PNG files (report.html has them)."
    ),
    # Kept so that existing scripts run: PNGs are written only with --png.
    click.option("--no-plots", is_flag=True, hidden=True),
    click.option("--quiet", "-q", is_flag=True, help="Print only the summary."),
]


def run_rfm(
    path: str | Path,
    out: Path,
    *,
    customer: str | None,
    date_column: str | None,
    invoice: str | None,
    amount: str | None,
    quantity: str | None,
    price: str | None,
    product: str | None,
    currency_column: str | None,
    currency: str | None,
    as_of: str | None,
    returns: str,
    non_product: str | None,
    segment_map: str | None,
    no_cluster: bool,
    k: int | str,
    method: str,
    seed: int,
    sheet: str | None,
    memory_limit: str | None,
    no_plots: bool,
    png: bool,
    quiet: bool,
    force: bool = False,
    engine: str = "local",
    spark_master: str | None = None,
    spark_conf: dict[str, str] | None = None,
) -> None:
    """Compute, write and summarise; errors are ``CustsegError`` for the CLI to print."""
    import warnings

    from ..cli.options import start_engine
    from ..errors import SegmentationWarning
    from ..outputs.atomic import check_replaceable
    from ..progress import step_progress
    from .analysis import per_customer_function, rfm
    from .outputs import RFM_FILES, write_rfm_results
    from .text import rfm_summary_lines

    inputs = (path, segment_map)
    # Fail before the work, not after it (the same guard as `segment`).
    check_replaceable(out, force=force, inputs=inputs, names=RFM_FILES)
    # Options the engine does not take are refused before it starts (Spark: seconds).
    per_customer_function(engine, path, sheet, memory_limit)
    note = start_engine(engine, spark_master, spark_conf or {})
    if note and not quiet:
        click.echo(note, err=True)
    with step_progress(quiet) as say:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SegmentationWarning)  # reported in the summary
            result = rfm(
                path,
                as_of=as_of,
                returns=returns,
                currency=currency,
                non_product=_codes(non_product),
                customer=customer,
                date=date_column,
                invoice=invoice,
                amount=amount,
                quantity=quantity,
                price=price,
                product=product,
                currency_column=currency_column,
                segment_map=segment_map,
                cluster=not no_cluster,
                k=k,
                method=method,
                seed=seed,
                sheet=sheet,
                memory_limit=memory_limit,
                engine=engine,
                progress=say,
            )
        if say:
            say("writing results")
        write_rfm_results(result, out, plots=png and not no_plots, force=force, inputs=inputs)
    from .._terminal import safe_line

    # Column names and segment names come from the data: control characters shown escaped.
    for line in rfm_summary_lines(result.to_dict(), result.clustering):
        click.echo(safe_line(line))
    click.echo()
    click.echo(safe_line(f"Results in {out}/"))
