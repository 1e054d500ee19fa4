"""custseg at scale vs the reference recipe, in one run; prints a table with ratios.

The reference recipe (what a data scientist would write by hand):

* k-means: ``StandardScaler``, then scikit-learn ``KMeans(n_init=10)`` for every k in
  2..10, the elbow of the inertia curve (Kneedle, the same rule custseg uses), and the
  silhouette and Calinski–Harabasz index on the full data where feasible (the full
  silhouette is O(n^2): only up to ``--full-silhouette-max`` rows);
* hierarchical: SciPy's exact Ward (O(n^2) memory: only up to ``--exact-ward-max`` rows).

custseg runs ``segment_prepared`` on the same in-memory float32 matrix (reading files is
timed apart: see docs/performance.md). Every run is a separate process, so its peak
memory is its own; the memory column is the peak resident size *above* the process
holding the raw float32 matrix. Recipe runs are bounded by ``--recipe-timeout`` and by
``--stop-at`` (UTC); a run that is stopped is reported as ``> T`` with the k it reached.

For hierarchical clustering above ``--exact-ward-max`` rows, the ARI column compares
custseg's segments on a seeded 20,000-row subsample with exact SciPy Ward run on that
subsample and cut at the same k.

The last two columns divide the time of one Lloyd iteration over all customers (custseg's
fused pass, which its final fit runs at every iteration; see custseg.cluster.lloyd) by
the time to read the scaled feature matrix once: ``Lloyd/read`` times ``X.max()`` on the
matrix itself (interleaved with the iterations, best of 7 each; a matrix of up to a few
tens of MB is then read from the CPU cache, not from memory), ``Lloyd/mem`` divides the
matrix's size by the memory bandwidth measured in the same process just after (reading
a 400 MB array, larger than any cache, best of 5).

Usage::

    python benchmarks/bench_scale.py                       # 1e4..1e7, 3 and 10 features
    python benchmarks/bench_scale.py --sizes 1e4,1e5 --features 3 --threads 1
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime

N_CENTRES = 5
SUBSAMPLE_ARI = 20_000


# --- data ----------------------------------------------------------------------------------


def make_table(n: int, d: int, seed: int = 0):
    """A generated customer table: 5 groups of unequal size, float32, clear structure."""
    import numpy as np

    rng = np.random.default_rng(seed)
    centres = rng.uniform(-6, 6, size=(N_CENTRES, d)).astype(np.float32)
    shares = np.array([0.30, 0.25, 0.20, 0.15, 0.10])
    group = rng.choice(N_CENTRES, size=n, p=shares)
    X = rng.standard_normal((n, d), dtype=np.float32)
    X += centres[group]
    return X


def _status(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak() -> int:
    """Reset the kernel's peak-RSS mark (Linux clear_refs 5); returns the current RSS."""
    import gc

    gc.collect()
    with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
        fh.write("5")
    return _status("VmRSS")


def _rss_peak() -> int:
    return _status("VmHWM")


# --- child runs (each in its own process) ----------------------------------------------


def child_custseg(n: int, d: int, method: str) -> dict:
    import numpy as np

    from custseg.config import SegmentationConfig
    from custseg.data.fast import prepare_matrix
    from custseg.pipeline import segment_prepared

    X = make_table(n, d)
    features = tuple(f"f{j}" for j in range(d))
    # Warm up imports and thread pools on a small table so they are not counted, and load
    # (or, on a machine's first run, compile: about 3 s) the fused Lloyd pass for d features.
    segment_prepared(prepare_matrix(X[:2000].copy(), features), SegmentationConfig(k_max=3))
    import kneed  # noqa: F401 - the elbow's library (it imports scipy.signal: ~1.5 s)

    from custseg.cluster.lloyd import warm_up

    warm_up(d, 2)
    base = _reset_peak()  # the process now holds the raw float32 matrix (and imports)
    t0, c0 = time.perf_counter(), time.process_time()
    result = segment_prepared(prepare_matrix(X, features), SegmentationConfig(method=method))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = _rss_peak() - base
    k = result.k_selection.chosen
    Xs = result.model.scaler.transform(X)
    labels = result.labels - 1
    out = {
        "time": wall,
        "cpu": cpu,
        "mem_above_raw": max(peak, 0),
        "raw_bytes": X.nbytes,
        "k": k,
        "sample_size": result.k_selection.sample_size,
        "inertia": _inertia(Xs, labels, k),
    }
    if method == "kmeans":
        # One Lloyd iteration over every customer, as custseg's final fit runs it (its fused
        # pass over the column copy made once per fit), against reading the matrix once
        # (X.max()). Interleaved, best of 7 each: this 2-vCPU VM's speed drifts by up to
        # 50% between seconds, and both should see the same machine.
        from custseg._threads import n_threads
        from custseg.cluster.lloyd import _Pass

        step = _Pass(Xs, k, n_threads())
        reads, iters = [], []
        try:
            step(result.model.centres)
            for _ in range(7):
                t = time.perf_counter()
                Xs.max()
                reads.append(time.perf_counter() - t)
                t = time.perf_counter()
                step(result.model.centres)
                iters.append(time.perf_counter() - t)
        finally:
            step.close()
        # The memory bandwidth in this process: a 400 MB array, too large for any cache,
        # read after the loop above: reading it between the timings evicted the matrix and
        # slowed the iterations measured after it.
        probe = np.ones(100_000_000, dtype=np.float32)
        probes = []
        for _ in range(5):
            t = time.perf_counter()
            probe.max()
            probes.append(time.perf_counter() - t)
        bandwidth = probe.nbytes / min(probes)
        del probe
        out.update(
            read_once=min(reads),
            lloyd_iter=min(iters),
            bandwidth=bandwidth,
            lloyd_iters=iters,
            reads=reads,
        )
        np.save(f"/tmp/bench-custseg-{os.getpid()}.npy", labels.astype(np.int8))
        out["labels_file"] = f"/tmp/bench-custseg-{os.getpid()}.npy"
    else:
        out["ari_exact_ward"] = _ari_vs_exact_ward(Xs, labels, k)
        if k != N_CENTRES and n <= 1_000_000:
            # Also at the generating number of groups, a harder test than a coarse cut.
            at5 = segment_prepared(
                prepare_matrix(X, features), SegmentationConfig(method=method, k=N_CENTRES)
            )
            out["ari_exact_ward_k5"] = _ari_vs_exact_ward(Xs, at5.labels - 1, N_CENTRES)
    return out


def _inertia(Xs, labels, k) -> float:
    import numpy as np

    total = 0.0
    for j in range(Xs.shape[1]):
        col = Xs[:, j].astype(np.float64)
        counts = np.bincount(labels, minlength=k)
        sums = np.bincount(labels, weights=col, minlength=k)
        sumsq = np.bincount(labels, weights=col * col, minlength=k)
        total += float(sumsq.sum() - (sums[counts > 0] ** 2 / counts[counts > 0]).sum())
    return total


def _ari_vs_exact_ward(Xs, labels, k) -> float:
    import numpy as np
    from scipy.cluster.hierarchy import fcluster, linkage
    from sklearn.metrics import adjusted_rand_score

    n = len(Xs)
    rng = np.random.default_rng(2)
    rows = np.sort(rng.choice(n, size=min(n, SUBSAMPLE_ARI), replace=False))
    Z = linkage(np.asarray(Xs[rows], dtype=np.float64), "ward")
    ward = fcluster(Z, k, criterion="maxclust")
    return float(adjusted_rand_score(labels[rows], ward))


def child_recipe(n: int, d: int, method: str, full_silhouette_max: int, exact_ward_max: int):
    """Prints one JSON line per finished k so a stopped run still reports its progress."""
    import numpy as np
    from sklearn.cluster import KMeans
    from sklearn.metrics import calinski_harabasz_score, silhouette_score
    from sklearn.preprocessing import StandardScaler

    X = make_table(n, d)
    import kneed  # noqa: F401 - imported before timing, as in custseg's run
    from scipy.cluster.hierarchy import fcluster, linkage

    base = _reset_peak()
    t0, c0 = time.perf_counter(), time.process_time()
    Xs = StandardScaler().fit_transform(X)
    if method == "hierarchical":
        from scipy.cluster.hierarchy import fcluster, linkage

        Z = linkage(np.asarray(Xs, dtype=np.float64), "ward")
        gaps = np.diff(Z[:, 2])[::-1][:9]  # gap above the cut into k = 2..10
        k = int(np.argmax(gaps)) + 2
        labels = fcluster(Z, k, criterion="maxclust")
        np.save(f"/tmp/bench-recipe-{os.getpid()}.npy", labels.astype(np.int8))
        print(
            json.dumps(
                {
                    "done": True,
                    "time": time.perf_counter() - t0,
                    "cpu": time.process_time() - c0,
                    "mem_above_raw": _rss_peak() - base,
                    "k": k,
                    "labels_file": f"/tmp/bench-recipe-{os.getpid()}.npy",
                }
            ),
            flush=True,
        )
        return
    from custseg.selection.knee import find_elbow

    inertia, labels_by_k = {}, {}
    for k in range(2, 11):
        fit = KMeans(k, n_init=10, random_state=0, algorithm="lloyd").fit(Xs)
        inertia[k] = float(fit.inertia_)
        labels_by_k[k] = fit.labels_.astype(np.int8)
        calinski_harabasz_score(Xs, fit.labels_)
        if n <= full_silhouette_max:
            silhouette_score(Xs, fit.labels_)
        print(json.dumps({"k_done": k, "time": time.perf_counter() - t0}), flush=True)
    k, _ = find_elbow(list(inertia), list(inertia.values()))
    k = k or 2
    np.save(f"/tmp/bench-recipe-{os.getpid()}.npy", labels_by_k[k])
    print(
        json.dumps(
            {
                "done": True,
                "time": time.perf_counter() - t0,
                "cpu": time.process_time() - c0,
                "mem_above_raw": _rss_peak() - base,
                "k": k,
                "inertia": _inertia(Xs, labels_by_k[k].astype(np.int64), k),
                "labels_file": f"/tmp/bench-recipe-{os.getpid()}.npy",
                "silhouette": "full" if n <= full_silhouette_max else "skipped (O(n^2))",
            }
        ),
        flush=True,
    )


# --- the parent: runs, limits, table ----------------------------------------------------------


def _run_child(args: list[str], timeout: float, threads: int | None) -> tuple[list[dict], bool]:
    env = dict(os.environ)
    if threads:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(threads)
    cmd = [sys.executable, os.path.abspath(__file__), "--child", *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        out, err = proc.communicate(timeout=max(timeout, 1))
        stopped = False
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        stopped = True
    lines = [json.loads(ln) for ln in out.splitlines() if ln.startswith("{")]
    if proc.returncode not in (0, None) and not stopped and not lines:
        raise RuntimeError(f"child {args} failed:\n{err[-2000:]}")
    return lines, stopped


def _seconds_left(stop_at: str | None) -> float:
    if not stop_at:
        return float("inf")
    now = datetime.now(UTC)
    hh, mm = (int(x) for x in stop_at.split(":"))
    end = now.replace(hour=hh, minute=mm, second=0, microsecond=0)
    return (end - now).total_seconds()


def _ari(file_a: str | None, file_b: str | None) -> float | None:
    import numpy as np
    from sklearn.metrics import adjusted_rand_score

    if not file_a or not file_b:
        return None
    return float(adjusted_rand_score(np.load(file_a), np.load(file_b)))


def memory_bandwidth() -> float:
    """GB/s reading a 400 MB float32 array once (best of 5)."""
    import numpy as np

    a = np.ones(100_000_000, dtype=np.float32)
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        a.max()
        best = min(best, time.perf_counter() - t)
    return a.nbytes / best / 1e9


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1e4,1e5,1e6,1e7")
    ap.add_argument("--features", default="3,10")
    ap.add_argument("--methods", default="kmeans,hierarchical")
    ap.add_argument("--recipe-timeout", type=float, default=300.0, help="seconds per recipe run")
    ap.add_argument("--recipe-max-n", type=float, default=1e6, help="no recipe above this n")
    ap.add_argument("--custseg-timeout", type=float, default=600.0)
    ap.add_argument("--full-silhouette-max", type=int, default=20_000)
    ap.add_argument("--exact-ward-max", type=int, default=20_000)
    ap.add_argument("--threads", type=int, default=None, help="threads per run (default: all)")
    ap.add_argument("--stop-at", default=None, help="HH:MM UTC: start nothing that could end later")
    ap.add_argument("--json", default=None, help="also write the rows to this JSON file")
    ap.add_argument("--child", nargs="*", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.child:
        kind, n, d, method = args.child[:4]
        if kind == "custseg":
            print(json.dumps(child_custseg(int(n), int(d), method)), flush=True)
        else:
            child_recipe(int(n), int(d), method, int(args.child[4]), int(args.child[5]))
        return

    import platform

    import numpy as np

    bw = memory_bandwidth()
    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"memory bandwidth {bw:.1f} GB/s (one-thread read), load average "
        f"{os.getloadavg()[0]:.1f}, threads per run: {args.threads or 'all'}; "
        f"numpy {np.__version__}",
        flush=True,
    )
    header = (
        f"{'n':>9} {'d':>3} {'method':<12} {'custseg s':>9} {'cpu s':>7} {'mem MB':>7} "
        f"{'k':>2} {'recipe s':>10} {'rec MB':>7} {'k':>2} {'speedup':>8} {'inertia':>8} "
        f"{'ARI':>6} {'Lloyd/read':>10} {'Lloyd/mem':>9}"
    )
    print(header)
    print("-" * len(header), flush=True)
    rows = []
    for n in (int(float(s)) for s in args.sizes.split(",")):
        for d in (int(s) for s in args.features.split(",")):
            for method in args.methods.split(","):
                left = _seconds_left(args.stop_at)
                if left < 30:
                    print(f"{n:>9} {d:>3} {method:<12} not run: --stop-at {args.stop_at} reached")
                    continue
                got, stopped = _run_child(
                    ["custseg", str(n), str(d), method],
                    min(args.custseg_timeout, left),
                    args.threads,
                )
                if stopped or not got:
                    print(f"{n:>9} {d:>3} {method:<12} custseg stopped by the time limit")
                    continue
                ours = got[-1]
                row = {"n": n, "d": d, "method": method, "custseg": ours, "recipe": None}
                feasible = n <= args.recipe_max_n and (
                    method == "kmeans" or n <= args.exact_ward_max
                )
                recipe_txt, rk, speed, iratio, ari, rmem = "not run", "", "", "", "", ""
                if method == "hierarchical" and n > args.exact_ward_max:
                    gb = n * (n - 1) / 2 * 8 / 1e9
                    recipe_txt = f"O(n²) {gb:,.0f}GB" if gb >= 1 else "O(n²)"
                    ari = f"{ours['ari_exact_ward']:.3f}*"
                    if "ari_exact_ward_k5" in ours:
                        ari += f" (k=5: {ours['ari_exact_ward_k5']:.3f})"
                elif feasible:
                    left = _seconds_left(args.stop_at)
                    limit = min(args.recipe_timeout, left - 10)
                    if limit < 20:
                        recipe_txt = "deadline"
                    else:
                        lines, stopped = _run_child(
                            [
                                "recipe",
                                str(n),
                                str(d),
                                method,
                                str(args.full_silhouette_max),
                                str(args.exact_ward_max),
                            ],
                            limit,
                            args.threads,
                        )
                        done = [ln for ln in lines if ln.get("done")]
                        if done:
                            rec = done[0]
                            row["recipe"] = rec
                            recipe_txt = f"{rec['time']:.1f}"
                            rmem = f"{rec['mem_above_raw'] / 2**20:.0f}"
                            rk = str(rec["k"])
                            speed = f"{rec['time'] / ours['time']:.1f}x"
                            if "inertia" in rec and rec["k"] == ours["k"]:
                                iratio = f"{ours['inertia'] / rec['inertia']:.4f}"
                            a = _ari(ours.get("labels_file"), rec.get("labels_file"))
                            if method == "hierarchical":
                                a = ours.get("ari_exact_ward", a)
                            ari = f"{a:.3f}" if a is not None else ""
                        else:
                            ks_done = [ln["k_done"] for ln in lines if "k_done" in ln]
                            reached = max(ks_done, default=1)
                            recipe_txt = f">{limit:.0f} (k≤{reached})"
                            speed = f">{limit / ours['time']:.1f}x"
                            row["recipe"] = {"stopped_after": limit, "k_reached": reached}
                elif method == "kmeans":
                    recipe_txt = f"skipped (n>{args.recipe_max_n:.0e})"
                mem = ours["mem_above_raw"] / 2**20
                lloyd = lloyd_mem = ""
                if "lloyd_iter" in ours:
                    lloyd = f"{ours['lloyd_iter'] / ours['read_once']:.1f}"
                    # The matrix's bytes at the memory bandwidth measured in the same run:
                    # reading it once from memory, also when it is small enough for cache.
                    lloyd_mem = (
                        f"{ours['lloyd_iter'] / (ours['raw_bytes'] / ours['bandwidth']):.1f}"
                    )
                if method == "hierarchical" and "ari_exact_ward" in ours and not ari:
                    ari = f"{ours['ari_exact_ward']:.3f}*"
                print(
                    f"{n:>9} {d:>3} {method:<12} {ours['time']:>9.1f} {ours['cpu']:>7.1f} "
                    f"{mem:>7.0f} {ours['k']:>2} {recipe_txt:>10} {rmem:>7} {rk:>2} {speed:>8} "
                    f"{iratio:>8} {ari:>6} {lloyd:>10} {lloyd_mem:>9}",
                    flush=True,
                )
                rows.append(row)
                for f in (ours.get("labels_file"), (row["recipe"] or {}).get("labels_file")):
                    if f and os.path.exists(f):
                        os.unlink(f)
    print(
        "\nmem MB / rec MB: peak resident memory above the raw float32 matrix, custseg / "
        "recipe. inertia: custseg's "
        "final inertia / the recipe's (same k). ARI: custseg vs the recipe's labels; "
        "* = vs exact SciPy Ward on a 20,000-row subsample cut at the same k (and at k=5, "
        "the generating number of groups). "
        "Lloyd/read: one final Lloyd iteration / reading the matrix once (X.max(); from "
        "the CPU cache when the matrix fits in it). Lloyd/mem: the same iteration / the "
        "matrix's size at the memory bandwidth (a 400 MB read) measured alongside."
    )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"memory_bandwidth_gbs": bw, "rows": rows}, fh, indent=2)


if __name__ == "__main__":
    main()
