"""The segmentation, step by step: validate, scale, choose k, cluster, profile, name, recommend.

Data flows one way; each step hands the next a typed result. Heavy steps go
through the engine seam (:mod:`custseg.engines`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from . import __version__
from .cluster.hierarchical import cut_tree, merge_gaps
from .cluster.sweep import compiled_for
from .config import SegmentationConfig
from .data.loading import LoadedTable, load_table, sheet_hint
from .data.prepare import PreparedData, prepare
from .engines import CustomerData, Engine, MicroClusters, get_engine
from .engines.contract import GroupSums, nearest, smallest_keys
from .engines.micro import MicroSummary, merge_groups, summarise
from .errors import ConfigError, DataError, SegmentationWarning
from .features.scaling import fit_scaler, scaler_from_stats
from .model import ATYPICAL_QUANTILE, SegmentInfo, SegmentModel, created_timestamp, fingerprint
from .playbook import load_playbook
from .profiling import LEVEL_RULE, name_segments, profile_segments
from .profiling.surrogate import surrogate_rules
from .results import (
    Dendrogram,
    KCandidate,
    KSelection,
    Projection,
    Recommendation,
    Segment,
    SegmentationResult,
)
from .selection import choose_k, find_elbow
from .selection.choice import KEvidence, clear_structure, combined_choice, min_segment_size
from .selection.evidence import k_curves, per_segment_stability
from .selection.indices import SILHOUETTE_SAMPLE, quality_indices_by_k
from .selection.stability import N_RESAMPLES, STABLE_FROM

# Below this many customers the resampling evidence (gap, stability) is not computed.
EVIDENCE_MIN_CUSTOMERS = 20

# Above this many customers, hierarchical clustering runs in two stages
# (micro-clusters, then an exact tree over them): exact trees need O(n^2) memory.
EXACT_TREE_LIMIT = 20_000
MICRO_CLUSTERS = 2_000
PROJECTION_POINTS = 5_000
DENDROGRAM_LEAVES = 30
# k is chosen on a seeded random sample of this many customers. The indices are
# averages over customers, so their sampling error shrinks like 1/sqrt(size): at
# 20,000 the inertia curve is within ~1% of the full data's, well below the steps
# between successive k that decide the elbow, and a segment holding 1% of the base
# still has ~200 customers in the sample. Larger samples cost time linearly (10 k-means
# restarts for each of 9 k) for no change in the choice: docs/performance.md shows
# sampled k == full-data k from 10^4 to 10^6 customers.
SWEEP_SAMPLE = 20_000

Progress = Callable[[str], None]


def quiet_spark(_: str) -> None:
    pass


def segment(
    data: pd.DataFrame | LoadedTable | str | Path,
    config: SegmentationConfig | None = None,
    *,
    sheet: str | None = None,
    progress: Progress | None = None,
) -> SegmentationResult:
    """Segment customers end to end.

    Parameters
    ----------
    data : DataFrame, LoadedTable, or path to a CSV / Parquet / .xlsx file
    config : SegmentationConfig, optional
        Options (default: k-means, standard scaling, k chosen by the combined rule of
        :mod:`custseg.selection.choice`).
    sheet : str, optional
        Excel sheet to read when ``data`` is a path.
    progress : callable, optional
        Called with a short message as each step starts.

    Returns
    -------
    SegmentationResult

    Examples
    --------
    >>> from custseg import make_customers, segment
    >>> result = segment(make_customers(300, seed=0))
    >>> result.k_selection.rule, result.k_selection.clear_structure
    ('combined', True)
    """
    config = config or SegmentationConfig()
    say = progress or quiet_spark
    previous, previous_path = None, config.previous
    if previous_path is not None:  # segment identity: fail on a bad model before any work
        from .model.identity import load_previous

        previous = load_previous(previous_path)
    if config.engine != "local":
        from .distributed import prepare_on_engine

        say(f"reading data with {config.engine}")
        prepared, handle = prepare_on_engine(data, config)
        return segment_prepared(prepared, config, progress=say, data=handle)
    prepared = prepare_input(data, config, sheet=sheet, progress=say)
    if previous is not None and previous_path is not None:
        from .model.identity import apply_previous, check_features

        check_features(previous, prepared.features, previous_path)
        result = segment_prepared(prepared, config, progress=say)
        say("matching segments to the previous model")
        return apply_previous(result, previous_path)
    return segment_prepared(prepared, config, progress=say)


def prepare_input(
    data: pd.DataFrame | LoadedTable | str | Path,
    config: SegmentationConfig,
    *,
    sheet: str | None = None,
    progress: Progress | None = None,
) -> PreparedData:
    """Read (when given a path) and validate the input into a :class:`PreparedData`.

    The first step of :func:`segment`; :func:`segment_prepared` is the rest. The
    number of segments takes no part in it beyond refusing a ``k`` larger than the
    customers, so a caller trying several k on one table (the app's k slider) may
    prepare once.
    """
    say = progress or quiet_spark
    from .rfm.detect import check_not_transaction_log

    if isinstance(data, (str, Path)):
        say("reading data")
        check_not_transaction_log(data)  # a log of invoice lines: point to `custseg rfm`
        if sheet is None:
            from .data.fast import prepare_large_file

            # Large clean CSV/Parquet: only the needed columns, straight to float32.
            fast = prepare_large_file(data, config)
            if fast is not None:
                return fast
        data = load_table(data, sheet=sheet, id_column=config.id_column)
    if isinstance(data, LoadedTable):
        check_not_transaction_log(data.frame, data.source)
        try:
            return prepare(
                data.frame,
                config,
                source=data.source,
                file_format=data.file_format,
                repairs=data.repairs,
            )
        except DataError as exc:
            # The first sheet of a workbook is often a cover page: say which was read.
            raise DataError(f"{exc}{sheet_hint(data)}") from None
    if isinstance(data, pd.DataFrame):
        check_not_transaction_log(data)
        return prepare(data, config)
    raise DataError(f"cannot segment a {type(data).__name__}; pass a DataFrame or a file path")


def _sweep_sample(rows: np.ndarray, seed: int) -> np.ndarray | None:
    """Positions (sorted) of the k-selection sample among customers at row numbers
    ``rows`` of the data, or None to use every customer: the rows with the smallest
    ``sample_keys``, the sample a data engine draws (so every engine chooses k on the
    same customers)."""
    if len(rows) <= SWEEP_SAMPLE:
        return None
    return smallest_keys(rows, SWEEP_SAMPLE, seed)


def _n_distinct(X: np.ndarray) -> int:
    """Distinct customers at the data's resolution (1e-9 of each feature's range).

    Values like 0 and 2e-201 differ as floats but not to k-means, whose squared
    distances underflow: counting them apart would allow an empty segment.
    """
    lo, span = X.min(axis=0), np.ptp(X, axis=0)
    span = np.where(span > 0, span, 1.0)
    return len(np.unique(np.round((X - lo) / span, 9), axis=0))


def _candidate_ks(
    config: SegmentationConfig, X: np.ndarray, X_sweep: np.ndarray
) -> tuple[list[int], list[str]]:
    n = len(X)
    # Distinct rows only matter when they are fewer than the k asked for, so count them
    # on the sample and look at all customers only when the sample is that degenerate.
    n_distinct = _n_distinct(X_sweep)
    need = max(config.k_max, config.k if isinstance(config.k, int) else 0)
    if len(X_sweep) < n and n_distinct <= need:
        n_distinct = _n_distinct(X)
    notes = []
    if n_distinct < 2:
        raise DataError(
            "every customer has the same values on the features, so there is nothing to segment"
        )
    if isinstance(config.k, int) and config.k > n_distinct:
        raise DataError(
            f"k={config.k} is more than the {n_distinct} distinct customers in the data; "
            "ask for fewer segments"
        )
    hi = min(config.k_max, n - 1, n_distinct)
    if hi < config.k_max:
        notes.append(
            f"k_max lowered from {config.k_max} to {hi}: only {n} customers ({n_distinct} distinct)"
        )
    if hi < config.k_min:
        if config.k == "auto":
            raise DataError(
                f"n_customers={n} ({n_distinct} distinct) is too few to compare k from "
                f"{config.k_min} to {config.k_max}; add customers or set --k"
            )
        return ([config.k] if isinstance(config.k, int) else []), notes
    ks = list(range(config.k_min, hi + 1))
    if isinstance(config.k, int) and config.k not in ks and 2 <= config.k <= n - 1:
        ks = sorted([*ks, config.k])
    return ks, notes


def _sse_of_groups(micro: MicroClusters, leaf: np.ndarray, k: int) -> float:
    """Within-segment SS when micro-clusters are grouped by ``leaf``, from their summaries."""
    groups = merge_groups(GroupSums(micro.counts, micro.sums, micro.sumsq), leaf, k)
    counts, sums = groups.counts, groups.sums
    nz = counts > 0
    return float(micro.sumsq.sum() - ((sums[nz] ** 2) / counts[nz, None]).sum())


def _sse(engine: Engine, X: np.ndarray, labels: np.ndarray, k: int) -> float:
    counts, sums, sumsq = engine.segment_sums(X, labels, k)
    nz = counts > 0
    return float(sumsq.sum() - ((sums[nz] ** 2) / counts[nz, None]).sum())


def segment_prepared(
    prepared: PreparedData,
    config: SegmentationConfig,
    *,
    progress: Progress | None = None,
    data: CustomerData | None = None,
    known: KSelection | None = None,
) -> SegmentationResult:
    """Run the steps after validation (see :func:`segment`).

    ``data`` is a data engine's handle to the same customers as ``prepared`` (in the same
    order); with it, the scaling statistics, the k-selection sample and the final k-means
    run on that engine (see :mod:`custseg.distributed`).

    ``known`` is the k selection of the automatic run on the same prepared data and
    options: a run of one k it scored (``k = k_min = k_max``, the app's k slider) takes
    that k's indices from it instead of measuring them again.
    """
    say = progress or quiet_spark
    if data is None and config.engine != "local":
        raise ConfigError(
            f"engine={config.engine!r} reads the customers itself: pass the path of a "
            "Parquet or CSV file"
        )
    # Steps over the sample and the driver's arrays run locally whatever the engine.
    engine = get_engine("local" if data is not None else config.engine)
    playbook = load_playbook(config.playbook)
    # Atypical customers (--outliers flag) are kept out of fitting, then assigned below.
    fit_mask = prepared.fit_rows
    X = prepared.X if fit_mask is None else prepared.X[fit_mask]
    features = prepared.features
    n = len(X)
    # A table longer than the driver's head stays on the engine: X is its seeded sample
    # of the fitted customers, and every pass over all of them runs there.
    large = data is not None and prepared.n_total is not None
    atypical_rows = prepared.atypical_rows if large else None
    if large:
        n = int(prepared.n_total or 0) - (0 if atypical_rows is None else len(atypical_rows))

    say("scaling features")
    scaled = None
    every_customer = data  # before the atypical ones are left out of fitting
    if data is None:
        scaler = fit_scaler(X, config.scale, log=prepared.log_features or None)
    else:  # one statistics pass on the engine (it read the log features transformed)
        if fit_mask is not None:  # every row is used on this path: positions are rows
            data = data.without_rows(np.flatnonzero(~fit_mask))
        elif atypical_rows is not None:
            data = data.without_rows(atypical_rows)
        scaler = scaler_from_stats(
            data.column_stats(), config.scale, log=prepared.log_features or None
        )
        scaled = data.scale(scaler.center, scaler.scale)
    # k-means on more customers than the sweep sample ends with a fit on all of them,
    # whose pass reads one feature at a time: the scaled copy is made in column order
    # (scikit-learn copies the small sample into its own layout anyway).
    column_order = config.method == "kmeans" and n > SWEEP_SAMPLE
    Xs = scaler.transform(X, order="F" if column_order else "C")

    # k is chosen on a seeded random sample of customers (all of them when there are few);
    # the chosen k is then fitted or cut on every customer.
    if scaled is None:
        # The fitted customers' row numbers in the data, as an engine numbers them.
        in_data = np.flatnonzero(prepared.used)
        sample_rows = _sweep_sample(in_data if fit_mask is None else in_data[fit_mask], config.seed)
    elif large:  # X is the engine's seeded sample already (all customers when few)
        sample_rows = None if len(X) == n else np.arange(len(X))
    else:  # the engine's seeded sample (sample_keys), in row order
        sample_rows = (
            None if n <= SWEEP_SAMPLE else scaled.sample(SWEEP_SAMPLE, seed=config.seed).rows
        )
        if sample_rows is not None and fit_mask is not None:
            # Row numbers in the file -> positions among the fitted customers (every row is
            # used on this path).
            sample_rows = np.searchsorted(np.flatnonzero(fit_mask), sample_rows)
    X_sweep = Xs if sample_rows is None else Xs[sample_rows]
    # The evidence's k-means fits take the sweep's step (hierarchical runs refit trees).
    compiled = config.method == "kmeans" and compiled_for(X_sweep)
    ks, notes = _candidate_ks(config, Xs, X_sweep)
    fixed_k = config.k if isinstance(config.k, int) else None

    # --- candidate labellings (of the sample) ------------------------------------
    labels_by_k: dict[int, np.ndarray] = {}
    inertia: dict[int, float] = {}
    gaps: dict[int, float] = {}
    fits = {}
    tree = None
    micro = None
    summary: MicroSummary | None = None
    if config.method == "kmeans":
        where = "" if sample_rows is None else f" on a sample of {len(sample_rows):,}"
        say(f"fitting k-means for k = {ks[0]}..{ks[-1]}{where}" if ks else "fitting k-means")
        fits = engine.kmeans_sweep(X_sweep, ks, n_init=config.n_init, seed=config.seed)
        for k, fit in fits.items():
            labels_by_k[k] = fit.labels
            inertia[k] = fit.inertia
    else:
        # A table longer than the head in two stages whatever its length: an exact tree
        # needs every customer on this computer.
        if n > EXACT_TREE_LIMIT or large:
            say(f"summarising {n:,} customers into {MICRO_CLUSTERS:,} micro-clusters")
            micro, summary = _micro_clusters(scaled, Xs, prepared, config.seed, large=large)
            say("building the tree over micro-clusters")
            tree = engine.tree(
                micro.centroids,
                config.linkage,
                weights=micro.counts if config.linkage == "ward" else None,
            )
        else:
            say("building the hierarchical tree")
            # On an engine the tree is built over its sample, which is every customer here.
            tree = engine.tree(Xs if scaled is None else _engine_all(scaled, Xs), config.linkage)
        for k in ks:
            leaf = cut_tree(tree, k)
            if micro is not None:
                # Exact within-segment SS from the micro-cluster summaries: O(m), not O(n).
                inertia[k] = _sse_of_groups(micro, leaf, k)
                rows = micro.labels if sample_rows is None else micro.labels[sample_rows]
                labels_by_k[k] = leaf[rows]
            else:
                labels_by_k[k] = leaf if sample_rows is None else leaf[sample_rows]
                inertia[k] = _sse(engine, Xs, leaf, k)
        gaps = merge_gaps(tree, ks)

    # --- choosing k ----------------------------------------------------------------
    say("scoring candidate k")
    measured = {c.k: c for c in (known.candidates if known is not None else ())}
    if fixed_k is not None and ks == [fixed_k] and fixed_k in measured:
        # The automatic run on the same data and options scored this k on the same sample
        # with the same segments: its indices, not the silhouette's O(n^2) again.
        c = measured[fixed_k]
        indices = {fixed_k: (c.silhouette, c.calinski_harabasz, c.davies_bouldin)}
    else:
        indices = quality_indices_by_k(X_sweep, labels_by_k, seed=config.seed)
    auto_ks = [k for k in ks if config.k_min <= k <= config.k_max]
    n_sweep = len(X_sweep)
    curves = None
    # A run of one given k (the app's k slider: its evidence comes from the automatic
    # run) has no k to choose, so no gap or stability curve to draw.
    single_fixed = fixed_k is not None and ks == [fixed_k]
    if ks and n_sweep >= EVIDENCE_MIN_CUSTOMERS and not single_fixed:
        say("measuring the gap statistic and the stability of each k")
        curves = k_curves(
            X_sweep,
            ks,
            method=config.method,
            linkage=config.linkage,
            seed=config.seed,
            compiled=compiled,
        )
    candidates = []
    for k in ks:
        sil, ch, db = indices[k]
        candidates.append(
            KCandidate(
                k=k,
                inertia=inertia[k],
                silhouette=sil,
                calinski_harabasz=ch,
                davies_bouldin=db,
                merge_gap=gaps.get(k),
                gap=None if curves is None else curves.gap.value(k),
                gap_se=None if curves is None else _se(curves.gap, k),
                stability=None if curves is None else curves.stability.get(k),
            )
        )
    elbow, elbow_reason = find_elbow(auto_ks, [inertia[k] for k in auto_ks])
    in_range = tuple(c for c in candidates if c.k in auto_ks)
    pool = in_range or tuple(candidates)
    # The size rule is judged on the sweep sample: 1% of it, at least 10 customers.
    min_size = min_segment_size(n_sweep)
    evidence = None
    if curves is not None and pool:
        evidence = KEvidence(
            ks=tuple(c.k for c in pool),
            inertia={c.k: c.inertia for c in pool},
            silhouette={c.k: c.silhouette for c in pool},
            calinski={c.k: c.calinski_harabasz for c in pool},
            davies={c.k: c.davies_bouldin for c in pool},
            merge_gap={c.k: c.merge_gap for c in pool if c.merge_gap is not None},
            gap=curves.gap,
            stability={c.k: c.stability or 0.0 for c in pool},
            smallest={c.k: int(np.bincount(labels_by_k[c.k], minlength=c.k).min()) for c in pool},
            n=n_sweep,
        )
    rule = config.resolved_k_rule
    if evidence is None and rule in ("combined", "gap", "stability"):
        if fixed_k is None and config.k_rule != "auto":
            raise DataError(
                f"k_rule={rule!r} needs at least {EVIDENCE_MIN_CUSTOMERS} customers to "
                "resample; use --k-rule silhouette or set --k"
            )
        rule = "silhouette"  # too few customers to resample: say so below
        if fixed_k is None:
            notes.append(
                f"fewer than {EVIDENCE_MIN_CUSTOMERS} customers to resample, so k was chosen "
                "by the silhouette"
            )
    clear = None
    if curves is not None:
        clear, structure_note = clear_structure(curves.gap, curves.hopkins)
    # Without natural groups every k slices a continuum and the indices drift to the
    # largest k; the automatic k then keeps to slices that resampling reproduces.
    min_stability = (
        STABLE_FROM
        if clear is False and fixed_k is None and config.k_rule == "auto" and rule == "combined"
        else None
    )
    selection = choose_k(
        pool,
        rule=rule,
        method=config.method,
        elbow=elbow,
        elbow_reason=elbow_reason,
        fixed_k=fixed_k,
        evidence=evidence,
        min_size=min_size,
        min_stability=min_stability,
    )
    k = selection.chosen
    if sample_rows is not None:
        notes.append(
            f"k-selection indices computed on a random sample of {len(sample_rows):,} "
            f"of the {n:,} customers"
            + (" (k-means inertia is the sample's)" if config.method == "kmeans" else "")
        )
    from dataclasses import replace

    structure_fields: dict = {}
    if curves is not None:
        # The verdict is said once, from structure_note and clear_structure, by every
        # presentation (summary, report, app); the note says how k was chosen.
        structure_fields = {
            "clear_structure": clear,
            "structure_note": structure_note,
            "hopkins": curves.hopkins,
            "gap_at_1": curves.gap.gap[0],
            "evidence_sample_size": curves.sample_size,
        }
    atypical = None
    # (The size rule's atypical customers; not when the stability rule above decided.)
    if selection.rule == "combined" and evidence is not None and min_stability is None:
        atypical = _atypical(evidence, labels_by_k, min_size, sample_rows, prepared, fit_mask)
    selection = replace(
        selection,
        candidates=tuple(candidates),
        sample_size=None if sample_rows is None else len(sample_rows),
        silhouette_sample_size=SILHOUETTE_SAMPLE if n_sweep > SILHOUETTE_SAMPLE else None,
        note=selection.note + ("" if not notes else " " + ". ".join(notes) + "."),
        min_segment_size=min_segment_size(n) if selection.rule == "combined" else None,
        atypical=atypical,
        **structure_fields,
    )

    # --- the chosen k on every customer ---------------------------------------------
    if config.method == "kmeans":
        if k not in fits:  # a user's k outside k_min..k_max
            fits[k] = engine.kmeans(X_sweep, k, n_init=config.n_init, seed=config.seed)
        raw_labels = fits[k].labels
        if scaled is not None:
            # Lloyd on every customer on the engine, from the sample's centres; only the
            # labels come back (the driver holds the table already, see distributed.py).
            say(f"fitting k-means with k = {k} on all {n:,} customers with {scaled.engine}")
            lloyd = scaled.lloyd(fits[k].centres)
            assigned = scaled.assign(lloyd.centres)
            if large:  # the sample's labels: the same nearest-centre rule as the engine's
                raw_labels = engine.assign(Xs, lloyd.centres)[0]
                fit_sums = assigned.group_sums(k)
            else:
                raw_labels = _engine_labels(assigned, Xs)
        elif sample_rows is not None:
            # Lloyd on every customer, started from the sample's centres: one run, few
            # iterations, instead of n_init restarts on the full data.
            say(f"fitting k-means with k = {k} on all {n:,} customers")
            raw_labels = engine.kmeans(
                Xs, k, n_init=1, seed=config.seed, init=fits[k].centres
            ).labels
    else:
        assert tree is not None  # built above for every hierarchical run
        leaf = cut_tree(tree, k)
        raw_labels = leaf[micro.labels] if micro is not None else leaf
        if large:
            # Each customer takes its micro-cluster's segment on the engine (a lookup, and
            # the distance to the segment's centre); the segments' sums are the
            # micro-clusters' (exact: no pass).
            assert summary is not None  # two stages for every table longer than the head
            of_centre, fit_sums = summary.segments(leaf, k)
            assigned = summary.assigned.relabel(of_centre, fit_sums.means)
    if fit_mask is not None:
        raw_labels, X, Xs = _assign_atypical(
            engine, prepared.X, fit_mask, Xs, raw_labels, k, scaler
        )
        n = len(X)
    raw_counts = np.bincount(raw_labels, minlength=k)
    if large:
        raw_centres = fit_sums.sums / np.maximum(fit_sums.counts, 1)[:, None]
        if atypical_rows is not None and every_customer is not None:
            # The atypical customers go to the nearest centre of the fit, as locally.
            say(f"assigning {len(atypical_rows):,} atypical customers")
            assigned = assigned.with_atypical(  # type: ignore[attr-defined]
                every_customer.scale(scaler.center, scaler.scale), atypical_rows, raw_centres
            )
        n = int(prepared.n_total or 0)
        population, engine_profiles = assigned.profile_segments(k)  # type: ignore[attr-defined]
        raw_counts = np.array([p.size for p in engine_profiles])
    n_found = int((raw_counts > 0).sum())
    if n_found < k:
        # Customers too close to tell apart at this precision: say so, not crash later.
        raise DataError(
            f"only {n_found} of the k={k} segments could be formed: some customers are too "
            "close to tell apart; ask for fewer segments"
        )

    # --- stable segment numbering: by size, then by centre -------------------------
    say("profiling segments")
    if large:
        order = _order_by(
            raw_counts, np.array([[p.centre[f] for f in features] for p in engine_profiles])
        )
    else:
        order = _canonical_order(engine, X, raw_labels, k)
    remap = np.empty(k, dtype=np.int64)
    remap[order] = np.arange(k)
    labels = remap[raw_labels]
    if large:  # the fitted customers' centres, from the engine's sums
        counts, centres = fit_sums.counts[order], raw_centres[order]
    elif fit_mask is None:
        counts, sums, _ = engine.segment_sums(Xs, labels, k)
    else:  # centres of the fitted customers only
        counts, sums, _ = engine.segment_sums(
            np.ascontiguousarray(Xs[fit_mask]), labels[fit_mask], k
        )
    if not large:
        centres = sums / np.maximum(counts, 1)[:, None]

    stability: list[float | None] = [None] * k
    stability_size = None
    if n_sweep >= EVIDENCE_MIN_CUSTOMERS and k >= 2:
        say(f"resampling {N_RESAMPLES} times to measure how stable each segment is")
        # The sweep sample indexes the fitted customers (atypical ones are not in it).
        fitted_labels = labels if fit_mask is None else labels[fit_mask]
        sweep_labels = fitted_labels if sample_rows is None else fitted_labels[sample_rows]
        values, stability_size = per_segment_stability(
            X_sweep,
            sweep_labels,
            k,
            method=config.method,
            linkage=config.linkage,
            seed=config.seed,
            compiled=compiled,
        )
        stability = [None if not np.isfinite(v) else float(v) for v in values]
        selection = replace(
            selection, stability_resamples=N_RESAMPLES, stability_sample_size=stability_size
        )

    if large:
        profiles = [engine_profiles[o] for o in order]
    else:
        population, profiles = profile_segments(X, labels, k, features, prepared.categories)
    # Roles the column-role registry recognised by name count before the playbook's words.
    registry = playbook.registry_roles(prepared.summary.roles)
    names = name_segments(
        [p.levels for p in profiles],
        [p.fine_levels for p in profiles],
        [p.effect for p in profiles],
        features,
        playbook.vocabulary(features, registry),
    )
    # Actions may rest on descriptors too (a campaign-response rate, a complaints flag).
    described = tuple(dict.fromkeys(c for p in profiles for c in p.described))
    actions = [
        playbook.recommend_all(
            {**p.levels, **{c: str(d["level"]) for c, d in p.described.items()}},
            features + described,
            {**p.effect, **{c: float(d["effect"] or 0.0) for c, d in p.described.items()}},
            registry,
        )
        for p in profiles
    ]
    surrogate = surrogate_rules(X, labels, k, features, config.seed)

    # --- distances and the model ---------------------------------------------------
    nearest, own = engine.assign(Xs, centres)
    differ = np.flatnonzero(nearest != labels)
    agreement = 1.0 - len(differ) / len(labels)  # (on the sample when large)
    # Distance to the customer's own segment centre; it is the nearest one for k-means, so
    # only the few others (hierarchical segments) need a second look.
    if len(differ):
        own[differ] = np.sqrt(((Xs[differ] - centres[labels[differ]]) ** 2).sum(axis=1))
    warns = []
    for s, p in enumerate(profiles):
        if p.size < max(2, 0.01 * n) and n >= 50:
            warns.append(f"segment {s + 1} has only {p.size} customer(s); consider a smaller k")
    for w in warns:
        warnings.warn(w, SegmentationWarning, stacklevel=3)

    segments = tuple(
        Segment(
            id=s + 1,
            name=names[s],
            size=p.size,
            share=p.share,
            centre=p.centre,
            levels=p.levels,
            stats=p.stats,
            categories=p.categories,
            distinctive=p.distinctive,
            recommendation=actions[s][0],
            more_actions=actions[s][1:],
            evidence={
                f: {"effect": e.effect, "vtest": e.vtest, "ratio": e.ratio}
                for f, e in p.evidence.items()
            },
            rule=who.to_dict() if (who := surrogate.rules[s]) else None,
            stability=stability[s],
            described=p.described,
        )
        for s, p in enumerate(profiles)
    )
    model = SegmentModel(
        features=features,
        scaler=scaler,
        missing="impute" if config.missing == "auto" else config.missing,
        impute_values=prepared.impute_values,
        method=config.method,
        linkage=config.linkage if config.method == "hierarchical" else None,
        centres=centres,
        segments=tuple(
            SegmentInfo(
                id=seg.id,
                name=seg.name,
                levels=seg.levels,
                centre=seg.centre,
                recommendation=_rec_dict(seg.recommendation),
                size=seg.size,
                distance=_distance_summary(own[labels == s]),
            )
            for s, seg in enumerate(segments)
        ),
        id_column=prepared.summary.id_column,
        training={
            "fingerprint": (
                every_customer.fingerprint()  # type: ignore[union-attr]
                if large
                else fingerprint(X, features)
            ),
            "n_customers": n,
            "source": Path(prepared.summary.source).name,
        },
        config=config.to_dict(),
        assignment_agreement=agreement,
        extra={"derived": prepared.derivations} if prepared.derivations else {},
        custseg_version=__version__,
        created_at=created_timestamp(),
    )

    full = np.zeros(len(prepared.used), dtype=np.int64)
    full[prepared.used] = labels + 1
    say("drawing the segment map")
    projection = _projection(X, Xs, labels, features, prepared, config.seed)
    write_assignments = None
    if large:
        # Per customer, only on the engine: written by it into the result folder.
        full = np.zeros(0, dtype=np.int64)
        projection = replace(projection, n_total=n)
        seg_ids = remap + 1
        seg_names = [names[int(r)] for r in remap]
        handle = assigned

        def write_assignments(path: Path) -> None:
            handle.write_segments(path, seg_ids, seg_names)  # type: ignore[attr-defined]

    dendrogram = None
    if tree is not None:
        dendrogram = _dendrogram(tree, k, None if micro is None else micro.counts)
    return SegmentationResult(
        config=config,
        data=prepared.summary,
        k_selection=selection,
        segments=segments,
        population=population,
        level_rule=LEVEL_RULE,
        labels=full,
        ids=prepared.ids if not large else pd.Series([], dtype=object),
        left_out=prepared.left_out if not large else pd.Series([], dtype=object),
        model=model,
        projection=projection,
        dendrogram=dendrogram,
        warnings=tuple(prepared.summary.warnings) + tuple(warns),
        row_flags=prepared.row_flags,
        surrogate=surrogate.to_dict(),
        write_assignments=write_assignments,
        assignments_file="assignments.csv" if write_assignments is None else "assignments/",
    )


def _engine_labels(assigned: CustomerData, Xs: np.ndarray) -> np.ndarray:
    """Each customer's segment from an engine's handle (in scaled units), checked to be the
    same customers in the same order as the driver's scaled table."""
    columns = assigned.to_numpy()
    same = np.column_stack([columns[f] for f in assigned.features]).reshape(Xs.shape)
    if not np.allclose(same, Xs, rtol=1e-9, atol=1e-9):
        raise DataError(
            f"engine={assigned.engine!r} read the customers in another order than the table "
            "checked on this computer; use --engine local"
        )
    return np.asarray(columns["segment"], dtype=np.int64)


def _micro_clusters(
    scaled: CustomerData | None,
    Xs: np.ndarray,
    prepared: PreparedData,
    seed: int,
    *,
    large: bool = False,
) -> tuple[MicroClusters, MicroSummary]:
    """Micro-clusters of the fitted customers by the same seam calls on every engine
    (:func:`custseg.engines.micro.summarise`), and the micro-cluster of each customer of
    ``Xs``: from the engine, or, for a table longer than the head (``Xs`` is then the
    engine's sample), by the engine's nearest-centre rule here (each customer's stays on
    the engine, in the summary's ``assigned``).

    Locally the customers are wrapped with their row numbers in the file, as Spark keeps
    them, so both engines draw the same seeded sample and learn the same centres.
    """
    from .engines.local_data import LocalData

    data: CustomerData
    if scaled is None:
        rows = np.flatnonzero(prepared.used)
        if prepared.fit_rows is not None:
            rows = rows[prepared.fit_rows]
        data = LocalData(X=Xs, features=prepared.features, rows=rows)
    else:
        data = scaled
    summary = summarise(data, MICRO_CLUSTERS, seed=seed)
    assigned = summary.assigned
    if large:
        centre = nearest(Xs, summary.centres)[0]
    elif isinstance(assigned, LocalData) and assigned.segment is not None:
        centre = assigned.segment
    else:
        centre = _engine_labels(assigned, Xs)
    sums = summary.sums
    micro = MicroClusters(
        counts=sums.counts, sums=sums.sums, sumsq=sums.sumsq, labels=summary.labels(centre)
    )
    return micro, summary


def _engine_all(scaled: CustomerData, Xs: np.ndarray) -> np.ndarray:
    """Every customer of an engine's handle (at most EXACT_TREE_LIMIT) in scaled units, in
    row order, checked to be the driver's customers in the same order."""
    every = scaled.sample(len(Xs), seed=0).X  # the whole table: the seed does not matter
    if every.shape != Xs.shape or not np.allclose(every, Xs, rtol=1e-9, atol=1e-9):
        raise DataError(
            f"engine={scaled.engine!r} read the customers in another order than the table "
            "checked on this computer; use --engine local"
        )
    return every


def _assign_atypical(
    engine: Engine,
    X_all: np.ndarray,
    fit: np.ndarray,
    Xs_fit: np.ndarray,
    raw_labels: np.ndarray,
    k: int,
    scaler,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels, X and scaled X of every customer: the atypical ones (not fitted) go to the
    nearest centre of the fit, so they are segmented without pulling any centre."""
    counts, sums, _ = engine.segment_sums(Xs_fit, raw_labels, k)
    raw_centres = sums / np.maximum(counts, 1)[:, None]
    Xs_all = scaler.transform(X_all)
    labels = np.empty(len(X_all), dtype=raw_labels.dtype)
    labels[fit] = raw_labels
    labels[~fit] = engine.assign(np.ascontiguousarray(Xs_all[~fit]), raw_centres)[0]
    return labels, X_all, Xs_all


def _se(gap, k: int) -> float | None:
    return gap.se[gap.ks.index(k)] if k in gap.ks else None


def _atypical(
    evidence: KEvidence,
    labels_by_k: dict[int, np.ndarray],
    min_size: int,
    sample_rows: np.ndarray | None,
    prepared: PreparedData,
    fit_mask: np.ndarray | None = None,
) -> dict | None:
    """Customers that would form a too-small segment at the k the rule ranks best, if any."""
    chosen, best, _ = combined_choice(evidence, min_size=min_size)
    if best == chosen:
        return None
    lab = labels_by_k[best]
    sizes = np.bincount(lab, minlength=best)
    tiny = np.flatnonzero(sizes < min_size)
    rows = np.flatnonzero(np.isin(lab, tiny))
    if sample_rows is not None:
        rows = sample_rows[rows]
    if fit_mask is not None:  # rows of the fitted customers -> rows of every used customer
        rows = np.flatnonzero(fit_mask)[rows]
    used_rows = np.flatnonzero(prepared.used)[rows]
    ids = [str(v) for v in prepared.ids.iloc[used_rows[:100]]]
    return {"k": int(best), "count": len(rows), "ids": ids}


def _rec_dict(rec: Recommendation) -> dict:
    return rec.to_dict()


def _distance_summary(d: np.ndarray) -> dict[str, float]:
    if len(d) == 0:
        return {"p50": 0.0, "p90": 0.0, "p99": 0.0, "max": 0.0}
    p50, p90, p99 = np.quantile(d, [0.5, 0.9, ATYPICAL_QUANTILE])
    return {"p50": float(p50), "p90": float(p90), "p99": float(p99), "max": float(d.max())}


def _canonical_order(engine: Engine, X: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Algorithm labels sorted by size (largest first), then by centre: ids that don't depend
    on the algorithm's arbitrary numbering."""
    sizes, sums, _ = engine.segment_sums(X, labels, k)
    return _order_by(sizes, sums / np.maximum(sizes, 1)[:, None])


def _order_by(sizes: np.ndarray, means: np.ndarray) -> np.ndarray:
    """Segments by size (largest first), then by their means in original units."""
    keys = [(-int(sizes[s]), *np.round(means[s], 9).tolist()) for s in range(len(sizes))]
    return np.array(sorted(range(len(sizes)), key=lambda s: keys[s]))


def _projection(
    X: np.ndarray,
    Xs: np.ndarray,
    labels: np.ndarray,
    features: tuple[str, ...],
    prepared: PreparedData,
    seed: int,
) -> Projection:
    n = len(X)
    idx = np.arange(n)
    if n > PROJECTION_POINTS:
        rng = np.random.default_rng(seed)
        idx = np.sort(rng.choice(n, size=PROJECTION_POINTS, replace=False))
    # Only the shown customers are projected: no n x 2 copy of a large table.
    if X.shape[1] == 1:
        coords = np.column_stack([X[idx, 0], np.zeros(len(idx))])
        axes = (features[0], "")
        explained = None
    elif X.shape[1] == 2:
        coords, axes, explained = X[idx], (features[0], features[1]), None
    else:
        from .features.pca import principal_axes

        rng = np.random.default_rng(seed)
        fit_rows = (
            rng.choice(n, size=min(n, 100_000), replace=False) if n > 100_000 else slice(None)
        )
        pca = principal_axes(Xs[fit_rows])
        coords = pca.transform(Xs[idx])
        ev = pca.explained
        axes = ("PC1", "PC2")
        explained = (float(ev[0]), float(ev[1]))
    used_rows = np.flatnonzero(prepared.used)[idx]
    return Projection(
        axes=axes,
        explained_variance=explained,
        x=np.asarray(coords[:, 0], dtype=np.float64),
        y=np.asarray(coords[:, 1], dtype=np.float64),
        segment=labels[idx] + 1,
        ids=tuple(str(v) for v in prepared.ids.iloc[used_rows]),
        n_total=n,
        values={f: X[idx, j] for j, f in enumerate(features)},
    )


def _dendrogram(Z: np.ndarray, k: int, weights: np.ndarray | None = None) -> Dendrogram:
    """The top DENDROGRAM_LEAVES clusters of the tree, as a small linkage matrix.

    ``weights`` are the customers of each leaf of a tree over micro-clusters (whose
    ``Z[:, 3]`` counts customers, not leaves): its leaves are labelled with their counts
    even when they all fit.
    """
    n = len(Z) + 1
    p = min(DENDROGRAM_LEAVES, n)
    h = Z[:, 2]
    cut = float((h[n - k - 1] + h[n - k]) / 2) if 1 < k < n else float(h[-1])
    if p == n and weights is None:
        return Dendrogram(
            linkage=Z.copy(),
            cut_height=cut,
            n_leaves=n,
            leaf_counts=np.ones(n, dtype=np.int64),
            truncated=False,
        )
    top = Z[n - p :]
    # Clusters that exist before the top p-1 merges become the leaves.
    created = set(range(n, 2 * n - p))  # ids formed by lower merges
    leaf_ids = sorted({int(c) for c in top[:, :2].ravel() if int(c) < n or int(c) in created})
    new_id = {c: i for i, c in enumerate(leaf_ids)}
    sizes = {}
    for c in leaf_ids:
        if c >= n:
            sizes[c] = int(Z[c - n, 3])
        else:
            sizes[c] = 1 if weights is None else int(weights[c])  # exact counts
    small = np.empty((p - 1, 4))
    for row, (a, b, dist, _) in enumerate(top):
        for col, c in enumerate((int(a), int(b))):
            small[row, col] = new_id[c] if c in new_id else p + (c - (2 * n - p))
        small[row, 2] = dist
        # SciPy checks that counts add up over the small tree's own leaves.
        small[row, 3] = sum(1 if x < p else small[int(x) - p, 3] for x in small[row, :2])
    return Dendrogram(
        linkage=small,
        cut_height=cut,
        n_leaves=n,
        leaf_counts=np.array([sizes[c] for c in leaf_ids], dtype=np.int64),
        truncated=True,
    )
