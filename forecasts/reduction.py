"""Scenario reduction: K scenarios with probabilities that stand for many drawn ones.

The method is **k-medoids**, solved with FasterPAM (Schubert & Rousseeuw,
"Fast and eager k-medoids clustering", Information Systems 101, 2021, through
the ``kmedoids`` package), started from PAM's greedy BUILD. Why k-medoids:
with N drawn scenarios of probability 1/N each, keeping a set J of them and
moving each dropped scenario's probability to its nearest kept one is the best
way to redistribute (Dupačová, Gröwe-Kuska & Römisch, "Scenario reduction in
stochastic programming: an approach using probability metrics", Math. Program.
95, 2003, Theorem 2), and the Kantorovich (Wasserstein-1) distance between the
drawn and the reduced distributions is then

    D_K(J) = Σ_i (1/N)·min_{j ∈ J} d(ξ_i, ξ_j),

the k-medoids objective. That distance is what the optimal value of a
two-stage stochastic program is stable in (same paper), so it is the one to
make small. The fast forward selection of Heitsch & Römisch ("Scenario
reduction algorithms in stochastic programming", Comput. Optim. Appl. 24,
2003) adds scenarios greedily to lower it, which is PAM's BUILD; FasterPAM then
swaps medoids while the distance falls, so it never ends above forward
selection. Kept scenarios are real draws (medoids), not averages, so each one
is a possible day. Deterministic: the same input gives the same reduction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Reduction:
    """K scenarios kept out of N.

    ``kept``: indices of the kept scenarios (medoids) into the N drawn;
    ``probabilities``: each kept one's probability (its cluster's share, summing to 1);
    ``assignment``: for each drawn scenario, the position in ``kept`` it was moved to;
    ``distance``: the Kantorovich distance D_K between the drawn and the reduced
    distributions [the unit of the features]; ``method``: how it was done.
    """

    kept: np.ndarray
    probabilities: np.ndarray
    assignment: np.ndarray
    distance: float
    method: str


METHOD = "k-medoids (FasterPAM from PAM's BUILD, i.e. from fast forward selection), Kantorovich distance"


def distance_matrix(features: np.ndarray) -> np.ndarray:
    """Euclidean distances between the rows of ``features`` (N × d) [unit of the features]."""
    x = np.asarray(features, dtype=float)
    sq = np.einsum("ij,ij->i", x, x)
    d2 = sq[:, None] + sq[None, :] - 2.0 * (x @ x.T)
    np.fill_diagonal(d2, 0.0)
    return np.sqrt(np.clip(d2, 0.0, None))


def reduce_scenarios(features: np.ndarray, k: int, *, seed: int = 0) -> Reduction:
    """Keep ``k`` of the N equally likely scenarios (rows of ``features``, N × d), by k-medoids.

    Raises ValueError when ``k`` is not within 1 … N or the features are not finite.
    """
    import kmedoids

    x = np.atleast_2d(np.asarray(features, dtype=float))
    n = x.shape[0]
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= n:
        raise ValueError(f"k: expected a whole number of scenarios within 1 … {n} (the number drawn), got {k!r}")
    if not np.all(np.isfinite(x)):
        raise ValueError("features: expected finite numbers")
    d = distance_matrix(x)
    if k == n:
        kept = np.arange(n)
    else:
        kept = np.asarray(kmedoids.fasterpam(d, k, init="build", random_state=seed, n_cpu=1).medoids, dtype=int)
    kept = np.sort(kept)
    assignment = np.argmin(d[:, kept], axis=1)
    assignment[kept] = np.arange(kept.size)  # a medoid stays itself, also when another is as close
    probabilities = np.bincount(assignment, minlength=kept.size) / n
    distance = float(np.mean(d[np.arange(n), kept[assignment]]))
    return Reduction(kept=kept, probabilities=probabilities, assignment=assignment, distance=distance, method=METHOD)
