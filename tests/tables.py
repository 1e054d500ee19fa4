"""A corpus of realistic generated customer tables, each with what custseg must make of it.

The tables follow the kinds of exports seen in practice (a CRM marketing table, a
credit-card extract, a wholesale ledger, German, Spanish and French exports, a
retail table with birth years and customer-since dates, a mall-like table, one with
absurd values); none is a copy of a public data set and no rule is tuned to one.
Every table is seeded; amounts are skewed (log-normal), counts zero-heavy
(Poisson/negative binomial), flags rare, codes few, and cells go missing or hold
spreadsheet errors the way exports do.

Each :class:`Table` gives the CSV text and the expectations a test checks:
roles of named columns, features, descriptors, excluded columns, derived
columns and words that must appear in the repairs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from custseg.data.demo import make_customers


@dataclass(frozen=True)
class Table:
    name: str
    text: str  # the file's content
    encoding: str = "utf-8"
    roles: dict[str, str] = field(default_factory=dict)  # column -> expected role
    features: tuple[str, ...] = ()  # exactly these default features (any order)
    descriptors: tuple[str, ...] = ()  # at least these
    excluded: tuple[str, ...] = ()  # at least these
    derived: tuple[str, ...] = ()  # derived feature names
    repairs: tuple[str, ...] = ()  # words that appear in data.repairs
    transformed: tuple[str, ...] = ()  # at least these are log-transformed


def _lognormal(rng, n, median, sigma):
    return np.round(rng.lognormal(np.log(median), sigma, n), 2)


def _gaps(rng, values, share):
    out = pd.Series(values, dtype=object)
    out[rng.random(len(out)) < share] = ""
    return out


def crm_marketing(n: int = 1200, seed: int = 11) -> Table:
    """A CRM marketing table: category spends, channel purchases, campaign flags."""
    rng = np.random.default_rng(seed)
    affluence = rng.normal(0, 1, n)
    income = np.round(52000 * np.exp(0.35 * affluence + rng.normal(0, 0.15, n)))
    income[rng.integers(0, n)] = 666666  # one absurd income
    spend = {
        "MntWines": 300,
        "MntFruits": 15,
        "MntMeatProducts": 120,
        "MntFishProducts": 25,
        "MntSweetProducts": 18,
        "MntGoldProds": 30,
    }
    frame = pd.DataFrame(
        {
            "ID": rng.permutation(np.arange(1000, 1000 + n)),
            "Year_Birth": rng.integers(1945, 2000, n),
            "Education": rng.choice(["Graduation", "PhD", "Master", "Basic", "2n Cycle"], n),
            "Marital_Status": rng.choice(["Married", "Together", "Single", "Divorced"], n),
            "Income": income,
            "Kidhome": rng.choice([0, 1, 2], n, p=[0.58, 0.4, 0.02]),
            "Teenhome": rng.choice([0, 1, 2], n, p=[0.52, 0.46, 0.02]),
            "Dt_Customer": [
                d.strftime("%d-%m-%Y")
                for d in pd.Timestamp("2012-07-30") + pd.to_timedelta(rng.integers(0, 700, n), "D")
            ],
            "Recency": rng.integers(0, 100, n),
        }
    )
    frame.loc[rng.choice(n, 2, replace=False), "Year_Birth"] = [1893, 1899]
    for col, med in spend.items():
        frame[col] = np.round(np.exp(np.log(med) + 0.9 * affluence + rng.normal(0, 0.8, n))).astype(
            int
        )
    for col, lam in (("Deals", 2.3), ("Web", 4), ("Catalog", 2.6), ("Store", 5.8)):
        frame[f"Num{col}Purchases"] = rng.poisson(lam * np.exp(0.3 * affluence))
    frame["NumWebVisitsMonth"] = rng.poisson(5.3, n)
    for i in range(1, 6):
        frame[f"AcceptedCmp{i}"] = (rng.random(n) < 0.07).astype(int)
    frame["Complain"] = (rng.random(n) < 0.01).astype(int)
    frame["Z_CostContact"] = 3
    frame["Z_Revenue"] = 11
    frame["Response"] = (rng.random(n) < 0.15).astype(int)
    frame["Income"] = _gaps(rng, frame["Income"].astype(int).astype(str), 0.01)
    mnt = list(spend)
    purchases = ["NumWebPurchases", "NumCatalogPurchases", "NumStorePurchases"]
    return Table(
        name="crm_marketing",
        text=frame.to_csv(index=False, lineterminator="\n"),
        roles={
            "ID": "id",
            "Year_Birth": "birth_year",
            "Income": "income",
            "Dt_Customer": "customer_since",
            "Recency": "recency",
            "MntWines": "category_spend",
            "NumDealsPurchases": "deals",
            "NumWebPurchases": "channel_purchases",
            "NumWebVisitsMonth": "web_visits",
            "AcceptedCmp3": "campaign_response",
            "Complain": "complaints",
            "Response": "outcome",
            "Kidhome": "household",
        },
        features=(
            "Income",
            "Recency",
            *mnt,
            "NumDealsPurchases",
            *purchases,
            "NumWebVisitsMonth",
            "Age",
            "Tenure (months)",
            "Total spend",
            "Total purchases",
        ),
        descriptors=("Education", "Marital_Status", "AcceptedCmp1", "Complain", "Response"),
        excluded=("Z_CostContact", "Z_Revenue"),
        derived=("Age", "Tenure (months)", "Total spend", "Total purchases"),
        repairs=("derived 'Age'", "implausible", "'Income'"),
        transformed=("Income",),
    )


def credit_card(n: int = 1500, seed: int = 12) -> Table:
    """A credit-card extract with a mostly-empty column whose header is an error code."""
    rng = np.random.default_rng(seed)
    limit = np.round(rng.lognormal(np.log(3500), 0.7, n), -2)
    balance = np.round(limit * rng.beta(1.2, 2.5, n), 2)
    oneoff = np.where(rng.random(n) < 0.45, 0, _lognormal(rng, n, 500, 1.2))
    install = np.where(rng.random(n) < 0.4, 0, _lognormal(rng, n, 400, 1.0))
    cash = np.where(rng.random(n) < 0.52, 0, _lognormal(rng, n, 900, 1.1))
    frame = pd.DataFrame(
        {
            "CUST_ID": [f"C{10001 + i}" for i in range(n)],
            "BALANCE": balance,
            "BALANCE_FREQUENCY": np.round(rng.beta(6, 1, n), 6),
            "PURCHASES": np.round(oneoff + install, 2),
            "ONEOFF_PURCHASES": oneoff,
            "INSTALLMENTS_PURCHASES": install,
            "CASH_ADVANCE": cash,
            "PURCHASES_FREQUENCY": np.round(rng.beta(1, 1.2, n), 6),
            "CASH_ADVANCE_FREQUENCY": np.round(np.where(cash > 0, rng.beta(1, 5, n), 0), 6),
            "CASH_ADVANCE_TRX": np.where(cash > 0, rng.poisson(4, n), 0),
            "PURCHASES_TRX": rng.negative_binomial(1, 0.07, n),
            "CREDIT_LIMIT": limit,
            "PAYMENTS": _lognormal(rng, n, 900, 1.0),
            "MINIMUM_PAYMENTS": _lognormal(rng, n, 300, 1.0),
            "PRC_FULL_PAYMENT": np.round(np.where(rng.random(n) < 0.65, 0, rng.random(n)), 6),
            "TENURE": rng.choice(
                [6, 7, 8, 9, 10, 11, 12], n, p=[0.02, 0.02, 0.02, 0.03, 0.03, 0.03, 0.85]
            ),
        }
    )
    frame["CREDIT_LIMIT"] = _gaps(rng, frame["CREDIT_LIMIT"].astype(str), 0.001)
    frame["MINIMUM_PAYMENTS"] = _gaps(rng, frame["MINIMUM_PAYMENTS"].astype(str), 0.035)
    err = pd.Series([""] * n, dtype=object)
    filled = rng.random(n)
    err[filled < 0.1] = "#DIV/0!"
    err[(filled >= 0.1) & (filled < 0.2)] = np.round(
        rng.random(int(((filled >= 0.1) & (filled < 0.2)).sum())), 3
    ).astype(str)
    frame["#DIV/0!"] = err
    return Table(
        name="credit_card",
        text=frame.to_csv(index=False, lineterminator="\n"),
        roles={
            "CUST_ID": "id",
            "BALANCE": "balance",
            "BALANCE_FREQUENCY": "activity_rate",
            "PURCHASES": "spend",
            "CASH_ADVANCE": "cash_advance",
            "CASH_ADVANCE_TRX": "frequency",
            "CREDIT_LIMIT": "credit_limit",
            "PAYMENTS": "payments",
            "MINIMUM_PAYMENTS": "minimum_payments",
            "PRC_FULL_PAYMENT": "full_payment_share",
            "TENURE": "tenure",
        },
        features=tuple(c for c in frame.columns if c not in ("CUST_ID", "#DIV/0!")),
        excluded=("#DIV/0!",),
        transformed=("PURCHASES", "CASH_ADVANCE"),
    )


def wholesale(n: int = 440, seed: int = 13) -> Table:
    """A wholesale ledger: channel/region codes, category spends, a headerless notes column."""
    rng = np.random.default_rng(seed)
    channel = rng.choice([1, 2], n, p=[0.68, 0.32])
    cats = {
        "Fresh": (8500, 1.1),
        "Milk": (3600, 1.0),
        "Grocery": (4700, 1.0),
        "Frozen": (1500, 1.1),
        "Detergents_Paper": (800, 1.5),
        "Delicassen": (960, 1.0),
    }
    frame = pd.DataFrame(
        {"Channel": channel, "Region": rng.choice([1, 2, 3], n, p=[0.18, 0.11, 0.71])}
    )
    for col, (med, sigma) in cats.items():
        boost = np.where(
            channel == 2, 2.5 if col in ("Grocery", "Detergents_Paper", "Milk") else 0.7, 1
        )
        frame[col] = np.maximum(3, np.round(rng.lognormal(np.log(med * boost), sigma, n))).astype(
            int
        )
    header = ",".join(frame.columns)
    notes = np.full(n, "", dtype=object)
    notes[rng.choice(n, 12, replace=False)] = rng.choice(
        ["call back", "VIP", "late payer", "new owner"], 12
    )
    body = frame.to_csv(index=False, header=False, lineterminator="\n").splitlines()
    lines = [header] + [
        f"{row},{note}" if note else row for row, note in zip(body, notes, strict=True)
    ]
    return Table(
        name="wholesale",
        text="\n".join(lines) + "\n",
        roles={"Channel": "channel_code", "Region": "region_code", "Fresh": "number"},
        features=tuple(cats),
        descriptors=("Channel", "Region"),
        repairs=("ignored column 9 (I): it has no header and holds text notes",),
        transformed=("Fresh", "Detergents_Paper"),
    )


def german(n: int = 800, seed: int = 14) -> Table:
    """A German shop export: semicolons, decimal commas, dd.mm.yyyy dates."""
    rng = np.random.default_rng(seed)
    wealth = rng.normal(0, 1, n)
    frame = pd.DataFrame(
        {
            "Kundennummer": rng.permutation(np.arange(50000, 50000 + n)),
            "Geschlecht": rng.choice(["m", "w", "d"], n, p=[0.48, 0.5, 0.02]),
            "Alter": rng.integers(18, 80, n),
            "Einkommen": np.round(np.exp(np.log(3100) + 0.4 * wealth), 2),
            "Umsatz Lebensmittel": np.round(
                np.exp(np.log(420) + 0.6 * wealth + rng.normal(0, 0.5, n)), 2
            ),
            "Umsatz Elektronik": np.round(
                np.where(
                    rng.random(n) < 0.3, 0, np.exp(np.log(250) + 0.8 * wealth + rng.normal(0, 1, n))
                ),
                2,
            ),
            "Umsatz Mode": np.round(np.exp(np.log(180) + 0.5 * wealth + rng.normal(0, 0.9, n)), 2),
            "Anzahl Bestellungen": rng.poisson(6, n),
            "Tage seit letztem Kauf": rng.integers(0, 365, n),
            "Kunde seit": [
                d.strftime("%d.%m.%Y")
                for d in pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 3000, n), "D")
            ],
            "Bundesland": rng.choice(["Bayern", "Berlin", "Hessen", "NRW", "Sachsen"], n),
            "Newsletter": rng.choice(["ja", "nein"], n),
        }
    )
    text = frame.to_csv(index=False, sep=";", decimal=",", lineterminator="\n")
    return Table(
        name="german",
        text=text,
        roles={
            "Kundennummer": "id",
            "Alter": "age",
            "Einkommen": "income",
            "Umsatz Lebensmittel": "category_spend",
            "Anzahl Bestellungen": "frequency",
            "Tage seit letztem Kauf": "recency",
            "Kunde seit": "customer_since",
            "Geschlecht": "gender",
            "Bundesland": "region_code",
        },
        features=(
            "Alter",
            "Einkommen",
            "Umsatz Lebensmittel",
            "Umsatz Elektronik",
            "Umsatz Mode",
            "Anzahl Bestellungen",
            "Tage seit letztem Kauf",
            "Tenure (months)",
            "Total spend",
        ),
        descriptors=("Geschlecht", "Bundesland", "Newsletter"),
        derived=("Tenure (months)", "Total spend"),
        repairs=("derived 'Tenure (months)'",),
    )


def spanish(n: int = 600, seed: int = 15) -> Table:
    """A Spanish CRM export."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "ID Cliente": [f"ES-{i:05d}" for i in rng.permutation(n)],
            "Edad": rng.integers(18, 85, n),
            "Sexo": rng.choice(["H", "M"], n),
            "Ingresos Anuales": np.round(rng.lognormal(np.log(24000), 0.5, n), -2),
            "Gasto Total": _lognormal(rng, n, 900, 0.9),
            "Número de Compras": rng.poisson(8, n),
            "Días desde última compra": rng.integers(0, 400, n),
            "Región": rng.choice(["Andalucía", "Cataluña", "Madrid", "Valencia"], n),
            "Queja": (rng.random(n) < 0.03).astype(int),
        }
    )
    frame["Ingresos Anuales"] = _gaps(rng, frame["Ingresos Anuales"].astype(str), 0.02)
    return Table(
        name="spanish",
        text=frame.to_csv(index=False, lineterminator="\n"),
        roles={
            "ID Cliente": "id",
            "Edad": "age",
            "Ingresos Anuales": "income",
            "Gasto Total": "spend",
            "Número de Compras": "frequency",
            "Días desde última compra": "recency",
            "Región": "region_code",
            "Queja": "complaints",
            "Sexo": "gender",
        },
        features=(
            "Edad",
            "Ingresos Anuales",
            "Gasto Total",
            "Número de Compras",
            "Días desde última compra",
        ),
        descriptors=("Sexo", "Región", "Queja"),
    )


def french(n: int = 600, seed: int = 16) -> Table:
    """A French loyalty-card export (semicolons, decimal commas)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "Numéro client": rng.permutation(np.arange(1, n + 1)),
            "Âge": rng.integers(18, 90, n),
            "Revenu annuel": np.round(rng.lognormal(np.log(30000), 0.45, n), -2),
            "Dépenses alimentaires": _lognormal(rng, n, 2400, 0.6),
            "Dépenses loisirs": _lognormal(rng, n, 500, 1.2),
            "Nombre d'achats": rng.poisson(20, n),
            "Ancienneté (mois)": rng.integers(1, 180, n),
            "Région": rng.choice(["Île-de-France", "Bretagne", "Occitanie"], n),
            "Réclamation": (rng.random(n) < 0.04).astype(int),
        }
    )
    return Table(
        name="french",
        text=frame.to_csv(index=False, sep=";", decimal=",", lineterminator="\n"),
        encoding="cp1252",
        roles={
            "Numéro client": "id",
            "Âge": "age",
            "Revenu annuel": "income",
            "Dépenses alimentaires": "category_spend",
            "Nombre d'achats": "frequency",
            "Ancienneté (mois)": "tenure",
            "Région": "region_code",
            "Réclamation": "complaints",
        },
        features=(
            "Âge",
            "Revenu annuel",
            "Dépenses alimentaires",
            "Dépenses loisirs",
            "Nombre d'achats",
            "Ancienneté (mois)",
            "Total spend",
        ),
        descriptors=("Région", "Réclamation"),
        derived=("Total spend",),
    )


def retail_dates(n: int = 900, seed: int = 17) -> Table:
    """A retail table with birth years and customer-since dates (ISO), yes/no flags."""
    rng = np.random.default_rng(seed)
    since = pd.Timestamp("2016-03-01") + pd.to_timedelta(rng.integers(0, 2900, n), "D")
    frame = pd.DataFrame(
        {
            "customer_id": [f"R{i:06d}" for i in range(n)],
            "birth_year": rng.integers(1940, 2006, n),
            "customer_since": since.strftime("%Y-%m-%d"),
            "total_spend": _lognormal(rng, n, 640, 1.0),
            "orders": rng.negative_binomial(2, 0.25, n),
            "last_order_days_ago": rng.integers(0, 500, n),
            "returns": rng.poisson(0.6, n),
            "loyalty_member": rng.choice(["yes", "no"], n, p=[0.35, 0.65]),
            "preferred_channel": rng.choice(["web", "store", "app"], n),
        }
    )
    frame.loc[rng.choice(n, 5, replace=False), "customer_since"] = ""
    return Table(
        name="retail_dates",
        text=frame.to_csv(index=False, lineterminator="\n"),
        roles={
            "customer_id": "id",
            "birth_year": "birth_year",
            "customer_since": "customer_since",
            "total_spend": "spend",
            "orders": "frequency",
            "last_order_days_ago": "recency",
            "returns": "returns",
            "loyalty_member": "flag",
            "preferred_channel": "channel_code",
        },
        features=(
            "total_spend",
            "orders",
            "last_order_days_ago",
            "returns",
            "Age",
            "Tenure (months)",
        ),
        descriptors=("loyalty_member", "preferred_channel"),
        derived=("Age", "Tenure (months)"),
        repairs=("derived 'Age'", "the latest date in 'customer_since'"),
        transformed=("total_spend",),
    )


def mall(n: int = 400, seed: int = 18) -> Table:
    """A mall-like table (id, gender, age, income, spending score)."""
    frame = make_customers(n, seed=seed)
    return Table(
        name="mall",
        text=frame.to_csv(index=False, lineterminator="\n"),
        roles={
            "CustomerID": "id",
            "Gender": "gender",
            "Age": "age",
            "Annual Income (k$)": "income",
            "Spending Score (1-100)": "score",
        },
        features=("Age", "Annual Income (k$)", "Spending Score (1-100)"),
        descriptors=("Gender",),
    )


def implausible(n: int = 700, seed: int = 19) -> Table:
    """Absurd ages, incomes hundreds of times the median, a nonsense category."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, n).astype(float)
    age[[3, 40, 41]] = [150, -3, 999]
    income = np.round(rng.lognormal(np.log(45000), 0.3, n), -2)
    income[[7, 8]] = [45000 * 400, 45000 * 900]
    frame = pd.DataFrame(
        {
            "client_id": np.arange(1, n + 1),
            "age": age,
            "income": income,
            "monthly_spend": _lognormal(rng, n, 180, 0.5),
            "web_visits": rng.poisson(7, n),
            "segment_label": rng.choice(["A", "B", "C", "???"], n, p=[0.4, 0.4, 0.19, 0.01]),
        }
    )
    return Table(
        name="implausible",
        text=frame.to_csv(index=False, lineterminator="\n"),
        roles={"client_id": "id", "age": "age", "income": "income", "web_visits": "web_visits"},
        features=("age", "income", "monthly_spend", "web_visits"),
        descriptors=("segment_label",),
        repairs=("'age': 3 implausible value(s) (outside 0..110)", "'income': 2 extreme value(s)"),
    )


ALL = (
    crm_marketing,
    credit_card,
    wholesale,
    german,
    spanish,
    french,
    retail_dates,
    mall,
    implausible,
)
