"""A seeded generator of realistic invoice-line exports for the RFM tests.

The shape of a retailer's export (as the UCI Online Retail file): one line per
product of an invoice, ``InvoiceNo`` with ``C``-prefixed cancellations,
``StockCode`` with postage and fee lines, ``Quantity`` negative on returns,
``InvoiceDate`` in several formats, ``UnitPrice``, ``CustomerID`` missing on
some lines, and ``Country``. Customers differ in how often and how recently they
buy, so the RFM scores and clusters have something to find.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd

PRODUCTS = [
    ("85123A", "WHITE HANGING HEART T-LIGHT HOLDER", 2.55),
    ("71053", "WHITE METAL LANTERN", 3.39),
    ("84406B", "CREAM CUPID HEARTS COAT HANGER", 2.75),
    ("22752", "SET 7 BABUSHKA NESTING BOXES", 7.65),
    ("21730", "GLASS STAR FROSTED T-LIGHT HOLDER", 4.25),
    ("22633", "HAND WARMER UNION JACK", 1.85),
    ("84879", "ASSORTED COLOUR BIRD ORNAMENT", 1.69),
    ("22423", "REGENCY CAKESTAND 3 TIER", 12.75),
    ("47566", "PARTY BUNTING", 4.95),
    ("20725", "LUNCH BAG RED RETROSPOT", 1.65),
]
FEES = [("POST", "POSTAGE", 18.0), ("M", "Manual", 1.0), ("BANK CHARGES", "Bank Charges", 15.0)]
COUNTRIES = ["United Kingdom"] * 8 + ["France", "Germany"]
START = datetime(2010, 12, 1, 8, 0)
DAYS = 373


def _fmt(ts: datetime, style: int) -> str:
    if style == 0:
        return f"{ts.month}/{ts.day}/{ts.year} {ts.hour}:{ts.minute:02d}"  # the UCI export
    if style == 1:
        return ts.strftime("%Y-%m-%d %H:%M:%S")
    return ts.strftime("%Y-%m-%dT%H:%M:%S") + "+00:00"


def make_invoice_log(n_customers: int = 400, *, seed: int = 0) -> pd.DataFrame:
    """An invoice-line export of ``n_customers`` customers over about a year (text columns)."""
    rng = np.random.default_rng(seed)
    rows: list[dict[str, object]] = []
    invoice = 536365
    # Customer types: (share, mean orders, mean days between the last order and the end)
    types = [(0.15, 12.0, 10), (0.25, 4.0, 40), (0.3, 1.3, 60), (0.3, 2.0, 250)]
    kinds = rng.choice(len(types), size=n_customers, p=[t[0] for t in types])
    for c in range(n_customers):
        cust = 12346 + c
        _, mean_orders, lapse = types[kinds[c]]
        n_orders = max(1, int(rng.poisson(mean_orders)))
        last = DAYS - 1 - min(DAYS - 2, int(rng.exponential(lapse)))
        first = max(0, last - int(rng.uniform(0, DAYS)))
        days = np.sort(rng.integers(first, last + 1, size=n_orders))
        days[-1] = last
        country = COUNTRIES[int(rng.integers(len(COUNTRIES)))]
        for d in days:
            ts = START + timedelta(days=int(d), minutes=int(rng.integers(0, 600)))
            invoice += 1
            style = int(rng.integers(3))
            for _ in range(int(rng.integers(1, 6))):
                code, desc, price = PRODUCTS[int(rng.integers(len(PRODUCTS)))]
                qty = int(rng.integers(1, 25))
                rows.append(
                    {
                        "InvoiceNo": str(invoice),
                        "StockCode": code,
                        "Description": desc,
                        "Quantity": str(qty),
                        "InvoiceDate": _fmt(ts, style),
                        "UnitPrice": f"{price:.2f}",
                        "CustomerID": f"{cust}.0" if style == 2 else str(cust),
                        "Country": country,
                    }
                )
            if rng.random() < 0.1:  # postage or a fee on the invoice
                code, desc, price = FEES[int(rng.integers(len(FEES)))]
                rows.append(
                    {
                        "InvoiceNo": str(invoice),
                        "StockCode": code,
                        "Description": desc,
                        "Quantity": "1",
                        "InvoiceDate": _fmt(ts, style),
                        "UnitPrice": f"{price:.2f}",
                        "CustomerID": str(cust),
                        "Country": country,
                    }
                )
            if rng.random() < 0.05:  # a cancellation of the first line, a few days later
                first_line = next(
                    r for r in reversed(rows) if r["StockCode"] not in ("POST", "M", "BANK CHARGES")
                )
                invoice += 1
                back = ts + timedelta(days=int(rng.integers(0, 3)))
                rows.append(
                    {
                        **first_line,
                        "InvoiceNo": f"C{invoice}",
                        "Quantity": f"-{first_line['Quantity']}",
                        "InvoiceDate": _fmt(back, 1),
                        "CustomerID": str(cust),
                    }
                )
    # Lines without a customer (walk-in sales), and an export duplicate.
    for _ in range(max(2, len(rows) // 50)):
        code, desc, price = PRODUCTS[int(rng.integers(len(PRODUCTS)))]
        invoice += 1
        ts = START + timedelta(days=int(rng.integers(DAYS)))
        rows.append(
            {
                "InvoiceNo": str(invoice),
                "StockCode": code,
                "Description": desc,
                "Quantity": "3",
                "InvoiceDate": _fmt(ts, 0),
                "UnitPrice": f"{price:.2f}",
                "CustomerID": "",
                "Country": "United Kingdom",
            }
        )
    rows.append(dict(rows[0]))
    frame = pd.DataFrame(rows)
    order = rng.permutation(len(frame))
    return frame.iloc[order].reset_index(drop=True)
