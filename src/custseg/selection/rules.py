"""Turn the evidence for each candidate k into one choice, and say how sure it is."""

from __future__ import annotations

from ..errors import ConfigError
from ..results import KCandidate, KSelection
from .choice import KEvidence, combined_choice

INDEX_LABELS = {
    "elbow": "the elbow of the inertia curve",
    "dendrogram": "the largest gap between dendrogram merge heights",
    "silhouette": "the highest silhouette",
    "calinski": "the highest Calinski–Harabasz index",
    "davies": "the lowest Davies–Bouldin index",
    "gap": "the gap statistic (first k within one standard error of the next)",
    "stability": "the most stable segments under bootstrap resampling",
    "combined": "the best total rank over five indices, no segment too small",
}
_SHORT = {
    "elbow": "the elbow",
    "dendrogram": "the dendrogram gap",
    "silhouette": "silhouette",
    "calinski": "Calinski–Harabasz",
    "davies": "Davies–Bouldin",
    "gap": "the gap statistic's 1-SE rule",
    "stability": "stability",
}
# The indices the plain-majority consensus counts (unchanged when gap and stability came).
_CONSENSUS = ("elbow", "dendrogram", "silhouette", "calinski", "davies")


def _best(cands: tuple[KCandidate, ...], attr: str, lowest: bool = False) -> int | None:
    scored = [(getattr(c, attr), c.k) for c in cands if getattr(c, attr) is not None]
    if not scored:
        return None
    if lowest:
        return min(scored, key=lambda t: (t[0], t[1]))[1]
    return max(scored, key=lambda t: (t[0], -t[1]))[1]


def _silhouette(cands: tuple[KCandidate, ...], k: int) -> float:
    for c in cands:
        if c.k == k and c.silhouette is not None:
            return c.silhouette
    return float("-inf")


def _most_voted(
    preferred: dict[str, int | None], cands: tuple[KCandidate, ...], exclude: int | None = None
) -> int | None:
    votes: dict[int, int] = {}
    for k in preferred.values():
        if k is not None and k != exclude:
            votes[k] = votes.get(k, 0) + 1
    if not votes:
        return None
    return max(votes, key=lambda k: (votes[k], _silhouette(cands, k), -k))


def choose_k(
    candidates: tuple[KCandidate, ...],
    *,
    rule: str,
    method: str,
    elbow: int | None,
    elbow_reason: str,
    fixed_k: int | None = None,
    evidence: KEvidence | None = None,
    min_size: int | None = None,
    min_stability: float | None = None,
) -> KSelection:
    """Choose k by ``rule`` and record what every index prefers.

    ``rule`` is one of elbow, dendrogram, silhouette, calinski, davies,
    consensus (the k most indices prefer, ties broken by silhouette), and, when
    ``evidence`` (gap and stability curves) is given, gap, stability and
    combined (:func:`custseg.selection.choice.combined_choice`; needs ``min_size``).
    ``fixed_k`` records a user's own k next to the evidence.
    """
    preferred: dict[str, int | None] = {"elbow": elbow}
    if method == "hierarchical":
        preferred["dendrogram"] = _best(candidates, "merge_gap")
    preferred["silhouette"] = _best(candidates, "silhouette")
    preferred["calinski"] = _best(candidates, "calinski_harabasz")
    preferred["davies"] = _best(candidates, "davies_bouldin", lowest=True)
    if evidence is not None:
        ks = [c.k for c in candidates]
        preferred["gap"] = evidence.gap.first_k(min(ks)) if ks else None
        if preferred["gap"] is not None and preferred["gap"] not in ks:
            preferred["gap"] = None
        preferred["stability"] = _best(candidates, "stability")
    elif rule in ("gap", "stability", "combined"):
        raise ConfigError(f"k_rule={rule!r} needs the gap and stability curves")

    fallback = ""
    reason = None
    if fixed_k is not None:
        chosen = fixed_k
        used_rule = "fixed"
        how = f"k={fixed_k} was set by the user"
    elif rule == "combined":
        assert evidence is not None and min_size is not None
        chosen, _, reason = combined_choice(
            evidence, min_size=min_size, min_stability=min_stability
        )
        used_rule = "combined"
        how = reason
    elif rule == "consensus":
        voters = {name: k for name, k in preferred.items() if name in _CONSENSUS}
        chosen_or_none = _most_voted(voters, candidates)
        if chosen_or_none is None:
            raise ConfigError("no index could rank the candidate k; widen --k-min/--k-max")
        chosen = chosen_or_none
        used_rule = "consensus"
        n_votes = sum(1 for v in voters.values() if v == chosen)
        n_idx = sum(1 for v in voters.values() if v is not None)
        how = f"k={chosen} is preferred by {n_votes} of {n_idx} indices (consensus)"
    else:
        if rule == "dendrogram" and method != "hierarchical":
            raise ConfigError("k_rule='dendrogram' needs method='hierarchical'")
        pick = preferred.get(rule)
        used_rule = rule
        if pick is None:
            if rule == "elbow":
                fallback = f"No clear elbow: {elbow_reason}. "
            else:
                fallback = f"{_SHORT[rule]} could not rank the candidates. "
            pick = preferred.get("silhouette") or _most_voted(preferred, candidates)
            used_rule = "silhouette"
            if pick is None:
                pick = candidates[0].k
                used_rule = "smallest"
            fallback += f"Fell back to {INDEX_LABELS.get(used_rule, 'the smallest candidate')}. "
        chosen = pick
        how = f"k={chosen} chosen by {INDEX_LABELS.get(used_rule, 'the smallest candidate')}"
    if reason is None:
        reason = how

    others = {name: k for name, k in preferred.items() if k is not None}
    agree = all(k == chosen for k in others.values()) and bool(others)
    runner_up = None if agree else _most_voted(preferred, candidates, exclude=chosen)
    if agree:
        verdict = "All indices agree."
    else:
        parts = [f"{_SHORT[name]} prefers {k}" for name, k in others.items() if k != chosen]
        verdict = "The indices disagree: " + "; ".join(parts) + "."
        if runner_up is not None:
            verdict += f" Runner-up: k={runner_up}."
    missing = [name for name, k in preferred.items() if k is None and name != "elbow"]
    if elbow is None and used_rule != "silhouette" and not fallback:
        missing.insert(0, "elbow")
    tail = f" ({', '.join(_SHORT[m] for m in missing)} gave no answer.)" if missing else ""
    note = f"{fallback}{how}. {verdict}{tail}"
    return KSelection(
        rule=used_rule,
        chosen=chosen,
        candidates=candidates,
        preferred=preferred,
        agree=agree,
        runner_up=runner_up,
        note=note,
        elbow=elbow,
        elbow_reason=elbow_reason if elbow is None else None,
        reason=reason,
        min_segment_size=min_size,
    )
