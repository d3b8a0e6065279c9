"""Non-crossing rearrangement of quantile matrices: sorting and isotonic projection never increase
the summed pinball loss (WIS) of a row for any target; a min-max sweep from the median can."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from conformal.aggregation._rearrangement import crossing_rate, rearrange_quantiles
from conformal.metrics import quantile_weighted_interval_score
from tests import _reference as ref


@st.composite
def crossing_rows(draw):
    """Levels (strictly increasing in (0, 1)), a quantile row that crosses, and a target that is
    anywhere: far out, inside, or exactly at one of the quantiles (the kinks of the loss)."""
    size = draw(st.integers(2, 15))
    levels = sorted(draw(st.sets(st.integers(1, 99), min_size=size, max_size=size)))
    values = draw(
        st.lists(
            st.one_of(st.floats(-1e3, 1e3, allow_subnormal=False), st.integers(-3, 3)),
            min_size=size,
            max_size=size,
        )
    )
    row = np.array(values, dtype=np.float64)
    assume((np.diff(row) < 0).any())
    y = draw(st.one_of(st.floats(-2e3, 2e3, allow_subnormal=False), st.sampled_from(values)))
    return np.array(levels) / 100.0, row, float(y)


def _loss(y, row, levels):
    return ref.summed_pinball_loss(y, row, levels)


@settings(max_examples=500, deadline=None)
@given(crossing_rows())
def test_sorting_and_isotonic_never_increase_summed_pinball_loss(case):
    """Chernozhukov et al. (2010) for sorting; Fakoor et al. (2023) for both: for every crossing
    row and every target, the rearranged row's summed pinball loss (equivalently WIS, twice it) is
    at most the original's."""
    levels, row, y = case
    before = _loss(y, row, levels)
    slack = 1e-9 * (1.0 + abs(y) + np.abs(row).sum())  # rounding in the block means
    for method in ("sort", "isotonic"):
        after_row = rearrange_quantiles(row[None, :], method, quantiles=levels)[0]
        assert (np.diff(after_row) >= 0).all()
        assert _loss(y, after_row, levels) <= before + slack, method


def test_property_holds_for_wis_on_a_matrix():
    """The same on whole matrices through the package's WIS: every row and target at once."""
    rng = np.random.default_rng(3)
    levels = np.linspace(0.05, 0.95, 19)
    crossed = np.sort(rng.normal(size=(500, 19)), axis=1) + rng.normal(scale=0.5, size=(500, 19))
    y = rng.normal(scale=2, size=500)
    before = [quantile_weighted_interval_score(y[[i]], crossed[[i]], levels) for i in range(500)]
    for method in ("sort", "isotonic"):
        fixed = rearrange_quantiles(crossed, method, quantiles=levels)
        after = [quantile_weighted_interval_score(y[[i]], fixed[[i]], levels) for i in range(500)]
        assert (np.array(after) <= np.array(before) + 1e-12).all()


def _min_max_sweep(row):
    """Sweep outward from the median column: above it ``q_t <- max(q_t, q_{t-1})``, below it
    ``q_t <- min(q_t, q_{t+1})``. Its output is non-decreasing, but it is not a rearrangement."""
    out = np.array(row, dtype=np.float64)
    middle = len(out) // 2
    for t in range(middle + 1, len(out)):
        out[t] = max(out[t], out[t - 1])
    for t in range(middle - 1, -1, -1):
        out[t] = min(out[t], out[t + 1])
    return out


def test_min_max_sweep_can_increase_the_loss():
    """Counterexample: levels (0.25, 0.5, 0.75), quantiles (1, 0, 0), target y = 3.

    The sweep keeps the median 0, clips the 0.25-quantile down to it and leaves the
    0.75-quantile at 0: (0, 0, 0). With y = 3 above every quantile, the loss of level t is
    t * (y - q_t), so lowering q_0.25 from 1 to 0 costs 0.25 * 1 and nothing is gained: the
    summed pinball loss rises from 0.5 + 1.5 + 2.25 = 4.25 to 0.75 + 1.5 + 2.25 = 4.5. Sorting
    moves the 1 to the top level instead, (0, 0, 1), where a high y rewards it more (3.75);
    isotonic regression pools to (1/3, 1/3, 1/3) (4.0). A min-max sweep discards the value 1 rather
    than reassigning it to a level, which is why the rearrangement inequality does not cover it.
    """
    levels = np.array([0.25, 0.5, 0.75])
    row = np.array([1.0, 0.0, 0.0])
    y = 3.0
    swept = _min_max_sweep(row)
    np.testing.assert_array_equal(swept, [0.0, 0.0, 0.0])
    assert _loss(y, row, levels) == pytest.approx(4.25)
    assert _loss(y, swept, levels) == pytest.approx(4.5)  # higher than before
    assert _loss(y, rearrange_quantiles([row])[0], levels) == pytest.approx(3.75)
    assert _loss(y, rearrange_quantiles([row], "isotonic")[0], levels) == pytest.approx(4.0)
    wis = [
        quantile_weighted_interval_score([y], [r], levels)
        for r in (row, swept, rearrange_quantiles([row])[0])
    ]
    assert wis[1] > wis[0] > wis[2]


def test_methods_against_references():
    rng = np.random.default_rng(0)
    crossed = np.sort(rng.normal(size=(200, 9)), axis=1) + rng.normal(scale=0.4, size=(200, 9))
    np.testing.assert_array_equal(rearrange_quantiles(crossed), ref.sort_rows(crossed))
    np.testing.assert_allclose(
        rearrange_quantiles(crossed, "isotonic"), ref.isotonic_rows(crossed), rtol=1e-12
    )
    copied = rearrange_quantiles(crossed, None)
    np.testing.assert_array_equal(copied, crossed)
    assert copied is not crossed and not np.shares_memory(copied, crossed)


@pytest.mark.parametrize("method", ["sort", "isotonic", None])
def test_output_is_new_float64_and_input_untouched(method):
    values = np.asfortranarray([[3, 1, 2], [0, 5, 4]])  # integers, Fortran order
    original = values.copy()
    out = rearrange_quantiles(values, method)
    assert out.dtype == np.float64 and out.shape == (2, 3) and out.flags.c_contiguous
    assert not np.shares_memory(out, values)
    np.testing.assert_array_equal(values, original)
    out_list = rearrange_quantiles(values.tolist(), method)
    np.testing.assert_array_equal(out_list, out)


@pytest.mark.parametrize("method", ["sort", "isotonic", None])
@pytest.mark.parametrize("shape", [(0, 3), (5, 1), (0, 0)])
def test_no_rows_and_one_column(method, shape):
    values = np.arange(np.prod(shape), dtype=np.float64).reshape(shape)
    out = rearrange_quantiles(values, method)
    assert out.shape == shape
    np.testing.assert_array_equal(out, values)


def test_infinite_quantiles():
    inf = np.inf
    rows = [[-inf, 2.0, 1.0, inf], [inf, 0.0, 1.0, 2.0]]
    np.testing.assert_array_equal(
        rearrange_quantiles(rows), [[-inf, 1.0, 2.0, inf], [0.0, 1.0, 2.0, inf]]
    )
    np.testing.assert_array_equal(
        rearrange_quantiles(rows, "isotonic"), [[-inf, 1.5, 1.5, inf], [inf, inf, inf, inf]]
    )
    with pytest.raises(ValueError, match=r"row 1 .* from \+inf to -inf.*method='sort'"):
        rearrange_quantiles([[0.0, 1.0], [inf, -inf]], "isotonic")
    np.testing.assert_array_equal(rearrange_quantiles([[inf, -inf]]), [[-inf, inf]])


def test_crossing_rate():
    assert crossing_rate([[1.0, 3.0, 2.0], [0.0, 1.0, 1.0], [2.0, 1.0, 0.0], [0, 0.5, 1]]) == 0.5
    assert crossing_rate(np.empty((0, 4))) == 0.0
    assert crossing_rate([[2.0], [1.0]]) == 0.0
    assert crossing_rate([[np.inf, np.inf], [-np.inf, np.inf], [np.inf, -np.inf]]) == 1 / 3
    rng = np.random.default_rng(1)
    crossed = rng.normal(size=(50, 5))
    assert crossing_rate(crossed) > 0
    assert crossing_rate(rearrange_quantiles(crossed)) == 0.0
    assert crossing_rate(rearrange_quantiles(crossed, "isotonic")) == 0.0
    with pytest.raises(ValueError, match=r"quantiles has 2 levels but predictions has 3 columns"):
        crossing_rate(crossed[:, :3], quantiles=[0.1, 0.9])


@pytest.mark.parametrize(
    "predictions, kwargs, match",
    [
        ([1.0, 2.0], {}, r"must be 2-d, shape \(n_samples, n_quantiles\).*reshape\(1, -1\)"),
        (np.zeros((2, 2, 2)), {}, r"must be 2-d.*got shape \(2, 2, 2\)"),
        ([[1.0, np.nan]], {}, r"contains NaN at 1 position\(s\) \(first: row 0, column 1\)"),
        ([["a", "b"]], {}, r"does not convert to floats"),
        ([[1.0, 2.0], [3.0]], {}, r"does not convert to floats"),
        ([[1.0, 2.0]], {"quantiles": [0.5]}, r"quantiles has 1 levels but predictions has 2"),
        ([[1.0, 2.0]], {"quantiles": [0.0, 0.5]}, r"strictly between 0 and 1; got \[0.0\]"),
        ([[1.0, 2.0]], {"quantiles": [0.5, 1.2]}, r"strictly between 0 and 1; got \[1.2\]"),
        ([[1.0, 2.0]], {"quantiles": [0.9, 0.1]}, r"strictly increasing; got unsorted"),
        ([[1.0, 2.0]], {"quantiles": [0.5, 0.5]}, r"strictly increasing; got duplicated"),
        ([[1.0, 2.0]], {"method": "median"}, r"'method' parameter .* Got 'median' instead"),
        ([[1.0, 2.0]], {"method": 1}, r"'method' parameter .* among \{'sort', 'isotonic'\}"),
    ],
)
def test_bad_input(predictions, kwargs, match):
    with pytest.raises(ValueError, match=match):
        rearrange_quantiles(predictions, **kwargs)
