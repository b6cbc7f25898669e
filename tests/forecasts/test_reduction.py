"""Scenario reduction (forecasts.reduction) and joint draws of several series (forecasts.joint)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from forecasts.joint import innovation_covariance, joint_normal_paths, joint_probability_paths
from forecasts.reduction import distance_matrix, reduce_scenarios


def clusters(sizes: tuple[int, ...], dim: int = 3, r: float = 1.0) -> tuple[np.ndarray, list[int]]:
    """Clusters far apart, each its centre plus points at ±r along axes: the centre is the medoid.

    From the centre, every other point of its cluster is r away; from any other point, the centre is
    r away and the rest r·√2 or 2r: the centre has the least sum of distances.
    """
    rng = np.random.default_rng(5)
    rows, centres = [], []
    for c, size in enumerate(sizes):
        centre = rng.normal(size=dim) + 100.0 * c
        centres.append(len(rows))
        rows.append(centre)
        offsets = [s * r * np.eye(dim)[i] for i in range(dim) for s in (1, -1)][: size - 1]
        rows += [centre + o for o in offsets]
    return np.array(rows), centres


def test_the_centres_of_well_separated_clusters_are_kept_with_their_clusters_probability():
    x, centres = clusters((7, 4, 2))
    red = reduce_scenarios(x, 3)
    assert red.kept.tolist() == centres
    n = len(x)
    assert red.probabilities.tolist() == pytest.approx([7 / n, 4 / n, 2 / n])
    # every point but the three centres is r = 1 from its centre
    assert red.distance == pytest.approx((n - 3) * 1.0 / n)
    assert red.assignment.tolist() == [0] * 7 + [1] * 4 + [2] * 2


def test_one_scenario_is_the_draw_with_the_least_total_distance():
    x = np.random.default_rng(2).normal(size=(30, 4))
    d = distance_matrix(x)
    red = reduce_scenarios(x, 1)
    assert red.kept.tolist() == [int(np.argmin(d.sum(axis=1)))]
    assert red.probabilities.tolist() == [1.0]
    assert red.distance == pytest.approx(d.sum(axis=1).min() / 30)


def test_k_medoids_lies_between_the_best_set_and_forward_selection_and_no_swap_improves_it():
    x = np.random.default_rng(11).normal(size=(12, 2))
    d = distance_matrix(x)
    red = reduce_scenarios(x, 3)
    best = min(d[:, list(s)].min(axis=1).mean() for s in itertools.combinations(range(12), 3))
    # forward selection (Heitsch & Römisch): add the scenario that lowers the distance most, three times
    kept: list[int] = []
    for _ in range(3):
        kept.append(min((j for j in range(12) if j not in kept), key=lambda j: d[:, [*kept, j]].min(axis=1).mean()))
    forward = d[:, kept].min(axis=1).mean()
    assert best - 1e-12 <= red.distance <= forward + 1e-12
    # a k-medoids result: no swap of a kept scenario for a dropped one lowers the distance
    kept_now = red.kept.tolist()
    for j, i in itertools.product(range(3), (i for i in range(12) if i not in kept_now)):
        swapped = [*kept_now[:j], i, *kept_now[j + 1:]]
        assert d[:, swapped].min(axis=1).mean() >= red.distance - 1e-12


def test_keeping_every_scenario_moves_nothing():
    x = np.arange(10.0).reshape(5, 2)
    red = reduce_scenarios(x, 5)
    assert red.kept.tolist() == [0, 1, 2, 3, 4]
    assert red.probabilities.tolist() == pytest.approx([0.2] * 5)
    assert red.distance == 0.0


def test_the_same_input_gives_the_same_reduction():
    x = np.random.default_rng(4).normal(size=(200, 6))
    a, b = reduce_scenarios(x, 10), reduce_scenarios(x, 10)
    assert a.kept.tolist() == b.kept.tolist() and a.probabilities.tolist() == b.probabilities.tolist()


@pytest.mark.parametrize("k", [0, 6, 2.5, True])
def test_a_number_of_scenarios_outside_the_draw_is_refused(k):
    with pytest.raises(ValueError, match=r"k: expected a whole number of scenarios within 1 … 5 \(the number drawn\)"):
        reduce_scenarios(np.zeros((5, 2)), k)


def test_features_must_be_finite():
    with pytest.raises(ValueError, match="features: expected finite numbers"):
        reduce_scenarios(np.array([[0.0], [np.nan]]), 1)


# ---------------------------------------------------------------------------
# Joint draws
# ---------------------------------------------------------------------------


def test_joint_paths_keep_each_series_persistence_and_their_correlation():
    rhos, c = (0.95, 0.8), 0.4
    corr = np.array([[1.0, c], [c, 1.0]])
    z = joint_normal_paths(4000, 24, rhos, corr, np.random.default_rng(0))
    assert z.shape == (2, 4000, 24)
    # N(0, 1) at every step (standard error of the mean 1/√4000 ≈ 0.016)
    assert np.abs(z.mean(axis=1)).max() < 0.07
    assert np.abs(z.std(axis=1) - 1).max() < 0.07
    for i, rho in enumerate(rhos):
        lag1 = np.mean([np.corrcoef(z[i, :, t], z[i, :, t + 1])[0, 1] for t in range(23)])
        assert lag1 == pytest.approx(rho, abs=0.02)
        lag3 = np.mean([np.corrcoef(z[i, :, t], z[i, :, t + 3])[0, 1] for t in range(21)])
        assert lag3 == pytest.approx(rho**3, abs=0.03)
    same_step = np.mean([np.corrcoef(z[0, :, t], z[1, :, t])[0, 1] for t in range(24)])
    assert same_step == pytest.approx(c, abs=0.02)
    # series 0 leading series 1 by two steps: Γ·ρ_1² (the lag acts through the lagging series' own AR)
    lead = np.mean([np.corrcoef(z[0, :, t], z[1, :, t + 2])[0, 1] for t in range(22)])
    assert lead == pytest.approx(c * rhos[1] ** 2, abs=0.03)


def test_the_innovations_make_the_process_stationary():
    rhos, corr = np.array([0.9, 0.5]), np.array([[1.0, -0.3], [-0.3, 1.0]])
    sigma = innovation_covariance(rhos, corr)
    a = np.diag(rhos)
    assert np.allclose(a @ corr @ a + sigma, corr)


def test_same_seed_same_probabilities_within_zero_and_one():
    corr = np.eye(2)
    a = joint_probability_paths(10, 8, (0.9, 0.9), corr, seed=3)
    b = joint_probability_paths(10, 8, (0.9, 0.9), corr, seed=3)
    assert np.array_equal(a, b) and a.min() > 0 and a.max() < 1


def test_a_correlation_too_strong_for_the_persistences_is_refused_with_the_limit():
    # ρ = 0.99 and 0: |Γ| ≤ √((1 − 0.9801)·1)/1 = 0.141
    with pytest.raises(ValueError, match=r"a correlation of 0.5 between series 0 and 1 cannot go with step-to-step "
                                         r"correlations 0.99 and 0; at most 0.141 in size"):
        innovation_covariance((0.99, 0.0), np.array([[1.0, 0.5], [0.5, 1.0]]))


@pytest.mark.parametrize(("rhos", "corr", "message"), [
    ((0.5,), np.eye(2), r"corr: expected a 1 × 1 matrix \(one row per series\), got shape \(2, 2\)"),
    ((0.5, 0.5), np.array([[1.0, 0.2], [0.3, 1.0]]), "corr: expected a symmetric correlation matrix"),
    ((0.5, 1.0), np.eye(2), r"rhos: each step-to-step correlation must lie within \[0, 1\)"),
    ((0.1, 0.1, 0.1), np.array([[1, 0.9, -0.9], [0.9, 1, 0.9], [-0.9, 0.9, 1]]), "corr: not positive semi-definite"),
])
def test_bad_correlations_are_refused(rhos, corr, message):
    with pytest.raises(ValueError, match=message):
        innovation_covariance(rhos, corr)
