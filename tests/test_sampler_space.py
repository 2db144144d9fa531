"""The unit-box encoding shared by the samplers: round trips, grids, uniformity, Optuna's distributions."""

from __future__ import annotations

import numpy as np
import optuna
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from tune_extras.optuna._search_space import encode_trials, search_space_from_distributions
from tune_extras.samplers import Dimension, SearchSpace

DISTRIBUTIONS = {
    "lr": optuna.distributions.FloatDistribution(1e-5, 1e-1, log=True),
    "dropout": optuna.distributions.FloatDistribution(0.0, 0.5),
    "wd": optuna.distributions.FloatDistribution(0.0, 0.3, step=0.05),
    "layers": optuna.distributions.IntDistribution(1, 4),
    "width": optuna.distributions.IntDistribution(8, 512, log=True),
    "batch": optuna.distributions.IntDistribution(16, 128, step=16),
    "act": optuna.distributions.CategoricalDistribution([None, True, 1, 1.0, "relu"]),
}
SPACE = search_space_from_distributions(DISTRIBUTIONS)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.floats(0.0, 1.0), min_size=6, max_size=6),
    st.integers(0, 4),
)
def test_decode_lies_in_the_distribution_and_round_trips(unit, index):
    params = SPACE.decode(np.array(unit), np.array([index]))
    for name, distribution in DISTRIBUTIONS.items():
        assert distribution._contains(distribution.to_internal_repr(params[name])), (name, params)
    encoded, indices = SPACE.encode(params)
    # snap(x) is the encoding of decode(x), and decoding the encoding gives the same parameters.
    np.testing.assert_allclose(SPACE.snap(np.array(unit)), encoded, atol=1e-12)
    assert SPACE.decode(encoded, indices) == params
    assert indices.tolist() == [index]


def test_choices_are_told_apart_by_type():
    space = SearchSpace([Dimension("c", "categorical", choices=(True, 1, 1.0, None, "1"))])
    assert [space.encode({"c": v})[1][0] for v in (True, 1, 1.0, None, "1")] == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="not one of the choices"):
        space.encode({"c": 2})


@pytest.mark.parametrize(
    ("dimension", "expected"),
    [
        (Dimension("n", "int", 1, 4), [1, 2, 3, 4]),
        (Dimension("s", "float", 0.0, 1.0, step=0.25), [0.0, 0.25, 0.5, 0.75, 1.0]),
        (Dimension("b", "int", 16, 64, step=16), [16, 32, 48, 64]),
    ],
)
def test_uniform_unit_draws_give_every_grid_value_the_same_chance(dimension, expected):
    rng = np.random.default_rng(0)
    values = [dimension.from_unit(u) for u in rng.random(20_000)]
    counts = [values.count(v) for v in expected]
    assert sum(counts) == len(values)
    assert stats.chisquare(counts).pvalue > 0.001


def test_log_int_cells_follow_the_log_scale():
    dimension = Dimension("w", "int", 1, 100, log=True)
    # the value's own log (not its log cell's centre), as Optuna's transform does
    assert dimension.to_unit(1) == pytest.approx(np.log(2.0) / np.log(201.0))
    assert dimension.from_unit(0.0) == 1 and dimension.from_unit(1.0) == 100
    # P(value = 1) = log(1.5 / 0.5) / log(100.5 / 0.5), the share of its log cell
    rng = np.random.default_rng(1)
    share = np.mean([dimension.from_unit(u) == 1 for u in rng.random(20_000)])
    assert share == pytest.approx(np.log(3.0) / np.log(201.0), abs=0.01)


def test_snap_works_on_matrices():
    rng = np.random.default_rng(2)
    units = rng.random((50, len(SPACE.numeric)))
    snapped = SPACE.snap(units)
    for row, snapped_row in zip(units, snapped, strict=True):
        np.testing.assert_allclose(SPACE.snap(row), snapped_row)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kind": "float", "low": 1.0, "high": 0.0},
        {"kind": "float", "low": 0.0, "high": 1.0, "log": True},
        {"kind": "int", "low": 0, "high": 3, "step": 0},
        {"kind": "categorical"},
        {"kind": "ordinal"},
    ],
)
def test_bad_dimensions_are_refused(kwargs):
    with pytest.raises(ValueError):
        Dimension("x", **kwargs)


def test_encode_trials_of_a_real_study():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(
        lambda t: t.suggest_float("lr", 1e-5, 1e-1, log=True) + t.suggest_int("layers", 1, 4),
        n_trials=10,
    )
    space = search_space_from_distributions(study.trials[0].distributions)
    units, indices = encode_trials(space, study.trials)
    assert units.shape == (10, 2) and indices.shape == (10, 0)
    assert np.all((units >= 0) & (units <= 1))
    assert [space.decode(u, i) for u, i in zip(units, indices, strict=True)] == [
        t.params for t in study.trials
    ]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.lists(st.floats(0.0, 1.0), min_size=6, max_size=6), st.integers(0, 4)),
                min_size=1, max_size=8))
def test_encode_many_is_encode_row_by_row(rows):
    """The vectorised encoding equals the one-configuration encoding, out-of-range values included
    (a range changed mid-study: clipped into the box)."""
    params_list = [SPACE.decode(np.array(unit), np.array([index])) for unit, index in rows]
    params_list.append({**params_list[0], "dropout": 0.9, "lr": 0.5})  # above their ranges
    units, indices = SPACE.encode_many(params_list)
    for row, params in enumerate(params_list):
        unit, index = SPACE.encode(params)
        np.testing.assert_allclose(units[row], unit, rtol=0, atol=1e-15)
        assert indices[row].tolist() == index.tolist()
    assert units[-1, SPACE.numeric.index(next(d for d in SPACE.numeric if d.name == "dropout"))] == 1.0
