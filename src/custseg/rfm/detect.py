"""Which column of a transaction log is the customer, the date, the invoice, the amount ...

Columns are found by name first (whole words of the header: ``CustomerID``,
``customer_no``, ``Invoice Date`` ...), then checked on the content of a sample
(dates parse as dates, quantities and prices as numbers). Every choice can be
overridden; :class:`LogColumns` records which were detected and which were given.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import DataError

# Role -> name patterns, tried in order against the normalised header (lower case,
# words separated by one space, camelCase split): the first column matching wins.
NAME_PATTERNS: dict[str, tuple[str, ...]] = {
    "customer": (
        r"^(customer|client|member|buyer|account|shopper|user|cust)"
        r"( ?(id|no|nr|number|code|key|ref))?$",
        r"^(customer|client|member|buyer|shopper|cust) ",
    ),
    "date": (
        r"^(invoice|order|transaction|purchase|sale|txn)? ?"
        r"(date|datetime|timestamp|time|date time)$",
        r"\b(date|datetime|timestamp)\b",
    ),
    "invoice": (
        r"^(invoice|order|receipt|transaction|basket|bill|txn|ticket)"
        r"( ?(id|no|nr|number|code|ref))?$",
        r"^(invoice|order|receipt|basket|bill) ?(id|no|nr|number|code)\b",
    ),
    "quantity": (
        r"^(quantity|qty|units|unit count|quantity ordered|qty ordered)$",
        r"\b(quantity|qty)\b",
    ),
    "price": (r"^(unit ?price|price|price each|unit ?cost|price per unit)$", r"\bprice\b"),
    "amount": (
        r"^(amount|line ?total|total|revenue|sales|line amount|net amount|total amount|value|"
        r"total price|sales amount|order value|line value)$",
    ),
    "product": (
        r"^(stock ?code|sku|product ?(id|code|no)?|item ?(id|code|no)?|article ?(id|no)?"
        r"|stock ?item)$",
    ),
    "currency": (r"^(currency|ccy|currency code|curr)$",),
}


def normalise(name: object) -> str:
    """'InvoiceNo' -> 'invoice no'; 'customer_id' -> 'customer id'."""
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", str(name).strip())
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split())


@dataclass(frozen=True)
class LogColumns:
    """The columns of a transaction log that custseg uses, by role.

    ``amount`` is a line amount; when it is ``None``, the line amount is
    ``quantity * price``. ``given`` lists the roles the user named.
    """

    customer: str
    date: str
    invoice: str | None = None
    quantity: str | None = None
    price: str | None = None
    amount: str | None = None
    product: str | None = None
    currency: str | None = None
    given: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, object]:
        return {
            "customer": self.customer,
            "date": self.date,
            "invoice": self.invoice,
            "quantity": self.quantity,
            "price": self.price,
            "amount": self.amount,
            "product": self.product,
            "currency": self.currency,
            "given": list(self.given),
        }

    def describe(self) -> str:
        """One line: which column plays which role."""
        parts = [f"customer {self.customer!r}", f"date {self.date!r}"]
        if self.invoice:
            parts.append(f"invoice {self.invoice!r}")
        if self.amount:
            parts.append(f"amount {self.amount!r}")
        else:
            parts.append(f"quantity {self.quantity!r} x price {self.price!r}")
        if self.product:
            parts.append(f"product {self.product!r}")
        if self.currency:
            parts.append(f"currency {self.currency!r}")
        return ", ".join(parts)


def _by_name(columns: Sequence[str], role: str, taken: set[str]) -> str | None:
    normed = [(c, normalise(c)) for c in columns if c not in taken]
    for pattern in NAME_PATTERNS[role]:
        for col, n in normed:
            if re.search(pattern, n):
                return col
    return None


def _share_numeric(values: pd.Series) -> float:
    v = values.dropna()
    if len(v) == 0:
        return 0.0
    if pd.api.types.is_numeric_dtype(v):
        return 1.0
    return float(pd.to_numeric(v.astype(str).str.strip(), errors="coerce").notna().mean())


def _share_dates(values: pd.Series) -> float:
    v = values.dropna()
    if len(v) == 0:
        return 0.0
    if pd.api.types.is_datetime64_any_dtype(v):
        return 1.0
    if pd.api.types.is_numeric_dtype(v):
        return 0.0  # numbers are not dates here (Excel serials come typed from openpyxl)
    text = v.astype(str).str.strip()
    parsed = pd.to_datetime(text, errors="coerce", format="mixed", utc=True)
    return float(parsed.notna().mean())


def _check_given(columns: Sequence[str], source: str, given: dict[str, str | None]) -> None:
    from ..data.prepare import suggest

    for role, col in given.items():
        if col is not None and col not in columns:
            raise DataError(
                f"{role} column {col!r} (--{role}) is not in '{source}'"
                f"{suggest(col, list(columns))}; columns are: {', '.join(columns)}"
            )


def detect_columns(
    sample: pd.DataFrame,
    source: str,
    *,
    customer: str | None = None,
    date: str | None = None,
    invoice: str | None = None,
    amount: str | None = None,
    quantity: str | None = None,
    price: str | None = None,
    product: str | None = None,
    currency_column: str | None = None,
) -> LogColumns:
    """Find the roles of a log's columns from its header and a sample of its lines.

    Parameters
    ----------
    sample : DataFrame
        The first lines of the log, every column (text or typed).
    source : str
        The file name, for messages.
    customer, date, invoice, amount, quantity, price, product, currency_column : str, optional
        Columns the user named; the others are detected.

    Raises
    ------
    DataError
        When the customer or date column, or the amount (or quantity and price),
        cannot be found: the message lists the columns and the option to use.
    """
    columns = [str(c) for c in sample.columns]
    given = {
        "customer": customer,
        "date": date,
        "invoice": invoice,
        "amount": amount,
        "quantity": quantity,
        "price": price,
        "product": product,
        "currency": currency_column,
    }
    _check_given(columns, source, given)
    taken = {c for c in given.values() if c is not None}
    found: dict[str, str | None] = dict(given)
    listed = ", ".join(columns)
    for role in (
        "customer",
        "invoice",
        "date",
        "amount",
        "quantity",
        "price",
        "product",
        "currency",
    ):
        if found[role] is None:
            col = _by_name(columns, role, taken)
            if col is not None:
                found[role] = col
                taken.add(col)
    # Content checks on what was found by name (what the user named is trusted).
    if found["date"] is not None and date is None and _share_dates(sample[found["date"]]) < 0.5:
        found["date"] = None
    if found["date"] is None:
        for c in columns:
            if c not in taken and _share_dates(sample[c]) >= 0.9:
                found["date"] = c
                taken.add(c)
                break
    for role, user in (("quantity", quantity), ("price", price), ("amount", amount)):
        col = found[role]
        if col is not None and user is None and _share_numeric(sample[col]) < 0.9:
            found[role] = None
    if found["customer"] is None:
        raise DataError(
            f"no customer id column found in '{source}' (looked for names like CustomerID, "
            f"customer_id, client); name it with --customer COLUMN; columns are: {listed}"
        )
    if found["date"] is None:
        raise DataError(
            f"no date column found in '{source}' (looked for names like InvoiceDate, order_date "
            f"and for dates in the first lines); name it with --date COLUMN; columns are: {listed}"
        )
    if amount is None and (quantity is not None or price is not None):
        found["amount"] = None  # the user chose quantity x price
    if found["amount"] is None and (found["quantity"] is None or found["price"] is None):
        missing = "quantity" if found["quantity"] is None else "price"
        raise DataError(
            f"no amount column, and no {missing} column, found in '{source}'; name the line "
            f"amount with --amount COLUMN, or --quantity COLUMN and --price COLUMN; "
            f"columns are: {listed}"
        )
    both = found["quantity"] is not None and found["price"] is not None
    if found["amount"] is not None and amount is None and both:
        # Both present: quantity x price is the line amount; a 'total' column may be
        # an invoice total repeated on each line.
        found["amount"] = None
    return LogColumns(
        customer=str(found["customer"]),
        date=str(found["date"]),
        invoice=found["invoice"],
        quantity=found["quantity"] if found["amount"] is None else None,
        price=found["price"] if found["amount"] is None else None,
        amount=found["amount"],
        product=found["product"],
        currency=found["currency"],
        given=tuple(r for r, v in given.items() if v is not None),
    )


def transaction_log_message(sample: pd.DataFrame, source: str) -> str | None:
    """A one-line pointer to ``custseg rfm`` when ``sample`` looks like a transaction log.

    A transaction log here: a customer column whose ids repeat, a date column, and
    invoice, quantity, price or amount columns. Customer tables (one row per
    customer) do not match, since their ids do not repeat.
    """
    if len(sample) < 4:
        return None
    try:
        cols = detect_columns(sample, source)
    except DataError:
        return None
    ids = sample[cols.customer].dropna()
    if len(ids) < 4 or ids.nunique() > 0.8 * len(ids):
        return None
    if not (cols.invoice or cols.amount or cols.quantity):
        return None
    shown_path = f"'{source}'" if " " in source else source
    shown = [c for c in (cols.invoice, cols.date, cols.quantity, cols.price, cols.amount) if c]
    return (
        f"'{source}' looks like a transaction log, not a customer table: customer ids in "
        f"{cols.customer!r} repeat, with {', '.join(repr(c) for c in shown)}; turn it into "
        f"one row per customer with: custseg rfm {shown_path} --out DIR"
    )


HEAD_LINES = 2_000


def _head(path: str | Path) -> tuple[pd.DataFrame, str] | None:
    """The first lines of a CSV or Parquet file, every column as read; None when unsure."""
    from ..data.loading import detect_format, sniff_csv

    p = Path(path)
    try:
        if not p.is_file():  # a pipe or a device would block here: the loader refuses it
            return None
        with p.open("rb") as fh:
            fmt = detect_format(p, fh.read(8))
        if fmt == "parquet":
            import pyarrow.parquet as pq

            batch = next(pq.ParquetFile(p).iter_batches(batch_size=HEAD_LINES), None)
            return (batch.to_pandas(), str(p)) if batch is not None else None
        if fmt not in ("csv", "csv.gz"):
            return None  # Excel: checked on the loaded frame
        sniff = sniff_csv(p, fmt == "csv.gz")  # the one CSV sniffer of every reader
        if not sniff.plain:
            return None  # not a log's layout: the readers say what to change
        frame = pd.read_csv(
            p,
            sep=sniff.delimiter,
            encoding=sniff.codec,
            nrows=HEAD_LINES,
            dtype=str,
            compression="gzip" if fmt == "csv.gz" else None,
        )
        return frame, str(p)
    except Exception:  # anything unusual: the table loader reports it properly
        return None


def check_not_transaction_log(data: str | Path | pd.DataFrame, source: str = "") -> None:
    """Refuse a transaction log given to ``segment``, pointing to ``custseg rfm``.

    Raises
    ------
    DataError
        With :func:`transaction_log_message`'s one line.
    """
    if isinstance(data, pd.DataFrame):
        head: tuple[pd.DataFrame, str] | None = (data.head(HEAD_LINES), source or "<DataFrame>")
    else:
        head = _head(data)
    if head is None:
        return
    message = transaction_log_message(*head)
    if message is not None:
        raise DataError(message)
