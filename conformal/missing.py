"""Conformal prediction with missing covariates: impute-then-predict with mask-conditional
guarantees (CP-MDA-Exact and CP-MDA-Nested; Zaffran, Dieuleveut, Josse and Romano, 2023).

:class:`MissingDataConformalRegressor` imputes ``X`` with an imputer fitted on the training part
only, fits a model on the imputed features with the mask appended (``[Phi(X, M), M]``) and
calibrates it in one of three ways:

- ``method="impute"``: split conformal (CQR or absolute residuals) on the imputed data; valid
  marginally for any missingness mechanism, but under-covers rows with many missing values;
- ``method="exact"`` (CP-MDA-Exact): each test mask ``m`` is calibrated on the calibration
  points that observe at least what the test point observes, masked to exactly ``m``;
  mask-conditionally valid under MCAR (``P(Y in C | M = m) >= 1 - a`` for every ``m``);
- ``method="nested"`` (CP-MDA-Nested): every calibration point ``k`` is masked to ``M_k | m``,
  and so is the test point; never discards a point, conservative, finite where Exact is not.

The mask bookkeeping (groups of test points sharing a mask, compatible points, deduplicated
augmented masks, the order statistics) lives in the calibration layer
(:class:`conformal.calibration._masks.MaskCalibration`); this module supplies the imputations
and predictions, one imputer call and one model call per batch.

Also here: the closed-form oracle interval length of the paper's Gaussian linear model
(:func:`oracle_interval_length`, :func:`mean_oracle_length`), its data
(:func:`make_gaussian_missing`), and :func:`plot_coverage_by_missing`.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.utils import check_array
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._missing_gaussian import (
    PAPER_BETA,
    make_gaussian_missing,
    mean_oracle_length,
    oracle_interval_length,
    paper_covariance,
)
from ._validation import (
    check_refittable,
    check_sample_count,
    check_target,
    seed_from,
    split_indices,
)
from .aggregation._protocol import (
    QuantileModels,
    as_quantile_model,
    merge_quantiles,
    pair_bands,
    per_level_models,
    predict_quantiles_of,
)
from .base import ConformalMixin
from .calibration import Calibrator, Level, TestContext, warn_too_few
from .calibration._masks import MaskCalibration, row_blocks
from .regression._quantile_models import (
    tail_quantiles,
    warn_empty,
)
from .scores import AbsoluteScore, CQRScore

__all__ = [
    "PAPER_BETA",
    "MissingDataConformalRegressor",
    "make_gaussian_missing",
    "mean_oracle_length",
    "oracle_interval_length",
    "paper_covariance",
    "plot_coverage_by_missing",
]

Floats = NDArray[np.float64]
_METHODS = ("impute", "exact", "nested")
# Rows per imputer / model call in Nested (about 16 MB of features at 10 features).
_BATCH_ROWS = 100_000
Masks = NDArray[np.bool_]


def default_imputer(random_state: Any = None, max_iter: int = 10) -> Any:
    """``IterativeImputer(Ridge())``: the default imputer (iterative regression imputation)."""
    from sklearn.experimental import enable_iterative_imputer  # noqa: F401
    from sklearn.impute import IterativeImputer
    from sklearn.linear_model import Ridge

    return IterativeImputer(estimator=Ridge(), max_iter=max_iter, random_state=random_state)


class MissingDataConformalRegressor(ConformalMixin, RegressorMixin, BaseEstimator):
    """Prediction intervals with NaN in ``X``: impute-then-predict, calibrated by mask (CP-MDA).

    ``fit`` splits the data into training and calibration parts; fits ``imputer`` on the
    training rows only; fits the model (two quantile models and a median for ``"cqr"``, one
    regressor for ``"absolute"``) on the imputed training features with the missingness mask
    appended, ``[Phi(X, M), M]``; and keeps the calibration rows. ``predict_interval`` reads NaN
    in ``X`` as the missing values and calibrates as ``method`` says.

    Guarantees, with ``a = 1 - confidence_level`` and exchangeable ``(X, M, Y)``:

    - ``"impute"``: ``P(Y in C(X, M)) >= 1 - a`` for any missingness mechanism (MCAR, MAR,
      MNAR), because the imputer and model are fitted on other rows;
    - ``"exact"``: ``P(Y in C(X, M) | M = m) >= 1 - a`` for every mask ``m`` when the mask is
      missing completely at random and ``Y`` is independent of ``M`` given ``X`` (Zaffran et
      al. 2023, Theorem 3.3); marginally valid under the same conditions;
    - ``"nested"``: ``P(Y in C(X, M) | M = m) >= 1 - 2a`` for every mask ``m`` under the same
      conditions (Theorem 3.4); in practice coverage at or above ``1 - a``; wider than Exact.

    Parameters
    ----------
    estimator : regressor, default=None
        For ``conformity_score="cqr"`` a quantile regressor whose quantile level is a parameter
        (``quantile`` or ``alpha``, found by name as in
        :class:`~conformal.ConformalizedQuantileRegressor`); ``None`` is
        ``HistGradientBoostingRegressor(loss="quantile")``. For ``"absolute"`` any regressor;
        ``None`` is ``HistGradientBoostingRegressor()``. It is cloned and refitted (a
        ``FrozenEstimator`` is refused: the model must be fitted on the imputed, mask-augmented
        features).
    method : {"impute", "exact", "nested"}, default="exact"
        The calibration (see above).
    imputer : transformer, default=None
        Any scikit-learn imputer (``fit`` / ``transform``) that maps ``(n, p)`` rows with NaN to
        ``(n, p)`` rows without; cloned and fitted on the training part only. ``None`` is
        ``IterativeImputer(estimator=Ridge(), max_iter=10)``. Imputation must act row by row
        (every scikit-learn imputer without ``sample_posterior`` does) for Exact and Nested to
        score augmented points as the test point is scored: an ``IterativeImputer`` with
        ``sample_posterior=True`` is refused for them.
    conformity_score : {"cqr", "absolute"}, default="cqr"
        ``"cqr"``: ``max(lo(x) - y, y - hi(x))`` with quantile models at ``a/2`` and
        ``1 - a/2``; ``"absolute"``: ``|y - f(x)|``.
    confidence_level : float or sequence of float, default=0.9
        Target coverage; may be overridden at predict time (with ``"cqr"``, a level without its
        own quantile models is calibrated on those of the nearest fitted level: still valid).
    calibration_size : float or int, default=0.3
        Fraction (or number) of samples held out for calibration.
    random_state : int, Generator, RandomState or None, default=None
        Controls the split (and seeds the default imputer).
    concatenate_mask : bool, default=True
        Append the mask ``M`` (as 0/1 columns) to the imputed features the model sees. Set it
        to ``False`` for a model that cannot take ``2 p`` columns.
    quantile_param : str, default=None
        With ``conformity_score="cqr"``: the name of the estimator's parameter that sets the
        quantile level, e.g. ``"histgradientboostingregressor__quantile"`` for a ``Pipeline``
        (``None``: found by name, as in :class:`~conformal.ConformalizedQuantileRegressor`).

    Attributes
    ----------
    imputer_ : transformer
        The imputer, fitted on the training rows.
    quantile_model_ : estimator with ``predict_quantiles`` or None
        ``"cqr"``: the fitted quantile model (levels ``a/2``, ``1 - a/2`` and 0.5, the last for
        :meth:`predict`); a model with a quantile parameter is one clone per level
        (:class:`~conformal.aggregation.MultiLevelQuantileRegressor`), a quantile model such
        as :class:`~conformal.aggregation.QuantileForestRegressor` is fitted once.
    estimators_ : QuantileModels or None
        ``"cqr"`` with one clone per level: the fitted models by level; ``None`` for
        ``"absolute"``.
    estimator_ : regressor or None
        ``"absolute"``: the fitted regressor.
    fitted_confidence_levels_ : list of float
    conformity_scores_ : ndarray of shape (n_fitted_levels, n_calibration)
        Scores of the calibration rows with their own masks (``method="impute"``).
    calibrators_ : list of Calibrator
        One per fitted level (``method="impute"``).
    mask_calibration_ : MaskCalibration
        The calibration masks, for Exact and Nested.
    calibration_X_ : ndarray of shape (n_calibration, p)
        The calibration rows, NaN kept (Exact and Nested re-mask and re-impute them).
    calibration_y_ : ndarray of shape (n_calibration,)
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        When ``X`` has string column names.

    Raises
    ------
    ValueError
        At ``fit``: NaN or infinity in ``y`` (drop those rows), infinity in ``X``, a feature
        missing in every training row, an imputer that leaves NaN or changes the number of
        columns, a model that cannot be fitted on the mask columns (pass
        ``concatenate_mask=False``), a frozen model.

    Notes
    -----
    Rows with every feature missing are allowed: they are imputed entirely (by the training
    means for ``IterativeImputer``) and form the mask "all missing", with which every
    calibration point is compatible.

    In a :class:`~sklearn.pipeline.Pipeline` the steps before this one must keep NaN (scalers
    do; imputers would hide the missingness). With a
    :class:`~sklearn.compose.ColumnTransformer`, encode categorical columns (e.g.
    ``OneHotEncoder(handle_unknown="ignore")``) and pass the numeric columns through
    (``"passthrough"`` or ``StandardScaler()``, which keeps NaN): the NaN then reach this
    estimator, whose masks cover every output column. Set ``verbose_feature_names_out=False``
    to keep readable names in warnings.

    Speed: Exact makes one imputer call and one model call for all the augmented calibration
    points of all distinct test masks (blocked beyond a few million values); Nested makes one of
    each per group of test points sharing a mask, over the deduplicated augmented masks, with
    memory ``(group size) x n_calibration``. A direct implementation with one imputer call per
    calibration/test pair is orders of magnitude slower (``benchmarks/missing_speed.py``).

    References
    ----------
    M. Zaffran, A. Dieuleveut, J. Josse and Y. Romano (2023). Conformal prediction with missing
    values. Proceedings of the 40th International Conference on Machine Learning, PMLR 202.

    Y. Romano, E. Patterson and E. J. Candes (2019). Conformalized quantile regression.
    NeurIPS 32.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import QuantileRegressor
    >>> from sklearn.impute import SimpleImputer
    >>> from conformal.missing import MissingDataConformalRegressor, make_gaussian_missing
    >>> X, y = make_gaussian_missing(300, random_state=0)
    >>> model = MissingDataConformalRegressor(
    ...     QuantileRegressor(alpha=0.0), method="exact", imputer=SimpleImputer(),
    ...     random_state=0,
    ... ).fit(X, y)
    >>> X_test, _ = make_gaussian_missing(3, n_missing=2, random_state=1)
    >>> intervals = model.predict_interval(X_test)
    >>> intervals.shape, bool((intervals[:, 1] > intervals[:, 0]).all())
    ((3, 2), True)
    """

    _parameter_constraints: dict[str, Any] = {
        "estimator": [HasMethods(["fit", "predict"]), None],
        "method": [StrOptions(set(_METHODS))],
        "imputer": [HasMethods(["fit", "transform"]), None],
        "conformity_score": [StrOptions({"cqr", "absolute"})],
        "confidence_level": "no_validation",  # the one level parser, at fit
        "calibration_size": [
            Interval(Real, 0.0, 1.0, closed="neither"),
            Interval(Integral, 1, None, closed="left"),
        ],
        "random_state": ["random_state", np.random.Generator],
        "concatenate_mask": ["boolean"],
        "quantile_param": [str, None],
    }

    def __init__(
        self,
        estimator: Any = None,
        *,
        method: str = "exact",
        imputer: Any = None,
        conformity_score: str = "cqr",
        confidence_level: float | list[float] = 0.9,
        calibration_size: float = 0.3,
        random_state: Any = None,
        concatenate_mask: bool = True,
        quantile_param: str | None = None,
    ) -> None:
        self.estimator = estimator
        self.method = method
        self.imputer = imputer
        self.conformity_score = conformity_score
        self.confidence_level = confidence_level
        self.calibration_size = calibration_size
        self.random_state = random_state
        self.concatenate_mask = concatenate_mask
        self.quantile_param = quantile_param

    # ------------------------------------------------------------------ sklearn plumbing

    def _default_estimator(self) -> Any:
        if self.conformity_score == "absolute":
            return HistGradientBoostingRegressor()
        return HistGradientBoostingRegressor(loss="quantile")

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # NaN is the missingness this estimator calibrates
        tags.input_tags.sparse = False
        tags.input_tags.string = False
        return tags

    def _as_floats(self, X: Any) -> tuple[Floats, NDArray[np.bool_]]:
        """``X`` as float64 with its mask; infinity refused."""
        values = check_array(
            X, dtype=np.float64, ensure_all_finite=False, input_name="X", copy=True
        )
        infinite = np.isinf(values)
        if infinite.any():
            row, column = (int(i) for i in np.argwhere(infinite)[0])
            raise ValueError(
                f"X contains infinity at {int(infinite.sum())} position(s) (first: row {row}, "
                f"column {column}); {type(self).__name__} reads NaN as a missing value and "
                "needs every observed value finite: replace infinities by NaN (missing) or "
                "by finite values."
            )
        return values, np.isnan(values)

    def _feature_labels(self) -> list[str] | None:
        names = getattr(self, "feature_names_in_", None)
        return None if names is None else [str(n) for n in names]

    # ------------------------------------------------------------------ imputation and models

    def _design(self, X: Floats, masks: NDArray[np.bool_]) -> Floats:
        """``[Phi(X masked by masks), masks]``: one imputer call for all rows."""
        masked = np.where(masks, np.nan, X)
        if masks.all():
            # IterativeImputer skips its rounds when EVERY entry of a call is missing, so a
            # call of all-missing rows alone would impute them differently from the same rows
            # among others: an observed row keeps the imputation a function of the row alone.
            padded = np.vstack([masked, np.zeros((1, masked.shape[1]))])
            imputed = np.asarray(self.imputer_.transform(padded), dtype=np.float64)[:-1]
        else:
            imputed = np.asarray(self.imputer_.transform(masked), dtype=np.float64)
        if imputed.shape != masked.shape:
            raise ValueError(
                f"imputer={self.imputer_!r} returned {imputed.shape[1]} columns for "
                f"{masked.shape[1]} features; it must keep one column per feature (for "
                "scikit-learn imputers: keep_empty_features=True, add_indicator=False)."
            )
        left = np.isnan(imputed)
        if left.any():
            columns = sorted({int(j) for j in np.flatnonzero(left.any(axis=0))})
            raise ValueError(
                f"imputer={self.imputer_!r} left NaN in {int(left.sum())} entries (columns "
                f"{columns[:10]}); the model needs imputed features without NaN. Use an imputer "
                "that fills every missing value, e.g. IterativeImputer or SimpleImputer."
            )
        if self.concatenate_mask:
            return np.hstack([imputed, masks.astype(np.float64)])
        return imputed

    def _band(self, Z: Floats, index: int) -> Floats:
        """``(n, 2)`` rearranged quantile predictions (``"cqr"``) or ``(n,)`` predictions."""
        if self.quantile_model_ is None:
            return np.asarray(self.estimator_.predict(Z), dtype=np.float64).ravel()
        return pair_bands(self.quantile_model_, Z, [self._pairs[index]])[0]

    def _fit_model(self, model: Any, Z: Floats, y: Floats) -> Any:
        try:
            return model.fit(Z, y)
        except (ValueError, TypeError) as error:
            if not self.concatenate_mask:
                raise
            p = self.n_features_in_
            raise ValueError(
                f"{type(model).__name__} could not be fitted on the imputed features with the "
                f"mask appended ([Phi(X), M], {2 * p} columns for {p} features): {error}. Pass "
                "concatenate_mask=False to fit it on the imputed features only."
            ) from error

    # ------------------------------------------------------------------ fit

    def fit(self, X: ArrayLike, y: ArrayLike) -> MissingDataConformalRegressor:
        """Fit the imputer and the model on the training part; keep the calibration part.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric features; NaN marks a missing value.
        y : array-like of shape (n_samples,)
            Finite targets (drop rows whose target is missing).

        Returns
        -------
        self : MissingDataConformalRegressor

        Raises
        ------
        ValueError
            See the class docstring.
        """
        X, target, _ = self._fit_prologue(X, y, check_target)
        estimator = self._resolve_estimator()
        check_refittable(
            estimator,
            type(self).__name__,
            "the model on the imputed features with the mask appended",
            "an unfitted model (it is fitted on [Phi(X), M])",
        )
        self._check_estimator_kind(estimator)
        values, masks = self._as_floats(X)
        n = target.shape[0]
        check_sample_count(n, type(self).__name__)
        levels, _ = self._levels(None)
        train, calibration = split_indices(n, self.calibration_size, self.random_state)
        empty = masks[train].all(axis=0)
        if empty.any():
            names = self._feature_labels()
            shown = [names[j] if names else int(j) for j in np.flatnonzero(empty)]
            raise ValueError(
                f"feature(s) {shown} are missing in every training row; the imputer cannot "
                "learn them. Drop those columns (or give training rows where they are observed)."
            )
        imputer = default_imputer(seed_from(self.random_state))
        if (
            self.method != "impute"
            and self.imputer is not None
            and self.imputer.get_params().get("sample_posterior", False)
        ):
            raise ValueError(
                f"method={self.method!r} needs an imputer that acts row by row; "
                f"{type(self.imputer).__name__}(sample_posterior=True) draws at random, so an "
                "augmented calibration point would not be imputed as the test point is. Use "
                "sample_posterior=False, or method='impute'."
            )
        self.imputer_ = clone(self.imputer if self.imputer is not None else imputer)
        self.imputer_.fit(values[train])
        Z_train = self._design(values[train], masks[train])
        y_train = target[train]
        self.fitted_confidence_levels_ = [float(lv) for lv in levels]
        self.quantile_model_: Any
        self.estimator_: Any
        if self.conformity_score == "cqr":
            self._pairs = [tail_quantiles(lv) for lv in levels]
            model = as_quantile_model(
                estimator, merge_quantiles(*self._pairs, [0.5]), quantile_param=self.quantile_param
            )
            self.quantile_model_ = self._fit_model(model, Z_train, y_train)
            self.estimator_ = None
            self.score_: Any = CQRScore()
        else:
            self.quantile_model_ = None
            self.estimator_ = self._fit_model(clone(estimator), Z_train, y_train)
            self._pairs = [(0.0, 0.0)] * len(levels)
            self.score_ = AbsoluteScore()
        self.calibration_X_ = values[calibration]
        self.calibration_y_ = target[calibration]
        cal_masks = masks[calibration]
        self.mask_calibration_ = MaskCalibration(cal_masks, self._feature_labels())
        Z_cal = self._design(self.calibration_X_, cal_masks)
        self.conformity_scores_ = np.stack(
            [
                self.score_.score(self.calibration_y_, self._band(Z_cal, i))
                for i in range(self._n_pairs())
            ]
        )
        self.calibrators_ = [Calibrator(scores) for scores in self.conformity_scores_]
        return self

    def _n_pairs(self) -> int:
        return len(self.fitted_confidence_levels_) if self.quantile_model_ is not None else 1

    def _groups(self, levels: list[Level]) -> list[tuple[int, list[int]]]:
        """``[(fitted pair, [positions of the asked levels it serves])]``."""
        if self.quantile_model_ is None:
            return [(0, list(range(len(levels))))]
        fitted = self.fitted_confidence_levels_
        nearest = [
            min(range(len(fitted)), key=lambda i: abs(fitted[i] - float(lv))) for lv in levels
        ]
        return [
            (index, [j for j, i in enumerate(nearest) if i == index])
            for index in sorted(set(nearest))
        ]

    # ------------------------------------------------------------------ predict

    def predict(self, X: ArrayLike) -> Floats:
        """Point predictions at the observed values (the 0.5-quantile model for ``"cqr"``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            NaN marks a missing value.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        X = self._check_features(X, reset=False)
        values, masks = self._as_floats(X)
        Z = self._design(values, masks)
        if self.quantile_model_ is not None:
            return predict_quantiles_of(self.quantile_model_, Z, [0.5])[:, 0]
        return np.asarray(self.estimator_.predict(Z), dtype=np.float64).ravel()

    @property
    def estimators_(self) -> QuantileModels | None:
        """The per-level models of ``"cqr"`` with one clone per level (``None`` for
        ``"absolute"``); a quantile model with its own ``predict_quantiles`` has none."""
        if self.quantile_model_ is None:
            return None
        return per_level_models(self.quantile_model_)

    def predict_interval(
        self,
        X: ArrayLike,
        confidence_level: float | list[float] | None = None,
        *,
        method: str | None = None,
    ) -> Floats:
        """Calibrated intervals, NaN in ``X`` read as the missing values.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        confidence_level : float or sequence of float, default=None
            Overrides the level set at construction.
        method : {"impute", "exact", "nested"}, default=None
            Overrides ``method`` for this call (the fitted models serve all three; used by the
            benchmarks to compare them on one fit).

        Returns
        -------
        intervals : ndarray of shape (n_samples, 2) or (n_samples, n_levels, 2)
            ``[lower, upper]``, rounded outward. Exact gives ``[-inf, inf]`` for a mask with too
            few compatible calibration points (``ceil(level / (1 - level))``: 9 at 0.9), with a
            :class:`~conformal.ConformalWarning` naming the mask and the count.

        Raises
        ------
        ValueError
            For an unknown ``method``, or infinity in ``X``.
        """
        X, levels, scalar = self._predict_prologue(X, confidence_level)
        chosen = self.method if method is None else method
        if chosen not in _METHODS:
            raise ValueError(f"Unknown method {chosen!r}. Valid options are {list(_METHODS)}.")
        values, masks = self._as_floats(X)
        out = np.empty((values.shape[0], len(levels), 2))
        if chosen == "impute":
            self._impute(values, masks, levels, out)
        elif chosen == "exact":
            self._exact(values, masks, levels, out)
        else:
            self._nested(values, masks, levels, out)
        warn_empty(out, type(self).__name__)
        return self._shape(out, scalar)

    def _impute(
        self, values: Floats, masks: NDArray[np.bool_], levels: list[Level], out: Floats
    ) -> None:
        Z = self._design(values, masks)
        for index, columns in self._groups(levels):
            thresholds = self.calibrators_[index].threshold([levels[j] for j in columns])
            out[:, columns, :] = self.score_.inverse(self._band(Z, index), thresholds)

    def _exact(
        self, values: Floats, masks: NDArray[np.bool_], levels: list[Level], out: Floats
    ) -> None:
        """Thresholds once per distinct test mask, from one batch of augmented points."""
        calib = self.mask_calibration_
        unique, inverse = calib.groups(TestContext(masks=masks))
        members = [calib.compatible(m) for m in unique]
        sizes = np.array([len(k) for k in members], dtype=np.intp)
        rows = np.concatenate(members) if members else np.zeros(0, dtype=np.intp)
        owner = np.repeat(np.arange(len(unique)), sizes)
        n_pairs = self._n_pairs()
        scores = np.empty((n_pairs, rows.shape[0]))
        width = 2 * values.shape[1]
        for block in row_blocks(rows.shape[0], width):
            Z = self._design(self.calibration_X_[rows[block]], unique[owner[block]])
            y_block = self.calibration_y_[rows[block]]
            for index in range(n_pairs):
                scores[index, block] = self.score_.score(y_block, self._band(Z, index))
        bounds = np.concatenate([[0], np.cumsum(sizes)])
        Z_test = self._design(values, masks)
        for index, columns in self._groups(levels):
            per_mask = [scores[index, bounds[j] : bounds[j + 1]] for j in range(len(unique))]
            thresholds = calib.exact_thresholds(
                per_mask, [levels[j] for j in columns], masks=unique
            )
            out[:, columns, :] = self.score_.inverse(self._band(Z_test, index), thresholds[inverse])

    def _nested(
        self, values: Floats, masks: NDArray[np.bool_], levels: list[Level], out: Floats
    ) -> None:
        """Per group of test points sharing a mask: the calibration points masked by ``M_k | m``
        and the test points by each distinct augmented mask. Groups are batched so that one
        imputer call and one model call serve many groups (imputation acts row by row);
        each group's bounds use a ``(group size, n_calibration)`` matrix at most."""
        calib = self.mask_calibration_
        unique, inverse = calib.groups(TestContext(masks=masks))
        n = calib.n_calibration
        warn_too_few(n, levels, what="infinite bounds")  # one warning per call
        order = np.argsort(inverse, kind="stable")
        starts = np.concatenate([[0], np.cumsum(np.bincount(inverse, minlength=len(unique)))])
        pending: list[tuple[NDArray[np.intp], NDArray[np.bool_], Masks, NDArray[np.intp]]] = []
        pending_rows = 0
        for j, mask in enumerate(unique):
            test_rows = order[starts[j] : starts[j + 1]]
            augmented, position = calib.augmented(mask)
            u = augmented.shape[0]
            for block in row_blocks(test_rows.shape[0], max(n, u)):
                pending.append((test_rows[block], mask, augmented, position))
                pending_rows += n + test_rows[block].shape[0] * u
                if pending_rows >= _BATCH_ROWS:
                    self._nested_batch(values, pending, levels, out)
                    pending, pending_rows = [], 0
        if pending:
            self._nested_batch(values, pending, levels, out)

    def _nested_batch(
        self,
        values: Floats,
        pending: list[tuple[NDArray[np.intp], NDArray[np.bool_], Masks, NDArray[np.intp]]],
        levels: list[Level],
        out: Floats,
    ) -> None:
        calib = self.mask_calibration_
        n = calib.n_calibration
        rows_parts: list[Floats] = []
        mask_parts: list[NDArray[np.bool_]] = []
        for rows, mask, augmented, _ in pending:
            rows_parts += [self.calibration_X_, np.repeat(values[rows], augmented.shape[0], axis=0)]
            mask_parts += [calib.masks | mask, np.tile(augmented, (rows.shape[0], 1))]
        Z = self._design(np.vstack(rows_parts), np.vstack(mask_parts))
        for index, columns in self._groups(levels):
            bands = self._band(Z, index)  # one model call for the whole batch
            asked = [levels[c] for c in columns]
            start = 0
            for rows, _, augmented, position in pending:
                g, u = rows.shape[0], augmented.shape[0]
                cal_scores = self.score_.score(self.calibration_y_, bands[start : start + n])
                test = bands[start + n : start + n + g * u]
                start += n + g * u
                band = test.reshape((g, u, *test.shape[1:]))[:, position]  # (g, n, ...)
                flat = band.reshape((g * n, *band.shape[2:]))
                thresholds = np.tile(cal_scores, g)[:, np.newaxis]
                shifted = self.score_.inverse(flat, thresholds)[:, 0, :]  # (g * n, 2)
                out[rows[:, np.newaxis], columns, :] = calib.nested_bounds(
                    shifted[:, 0].reshape(g, n), shifted[:, 1].reshape(g, n), asked, warn=False
                )


def plot_coverage_by_missing(
    results: dict[str, Any],
    *,
    confidence_level: float | None = 0.9,
    ax: Any = None,
) -> Any:
    """Coverage against the number of missing values, one line per method.

    Parameters
    ----------
    results : dict of str to mapping
        ``{method: {n_missing: coverage}}``, e.g. ``{name: {k: r.coverage for k, r in
        coverage_by_mask(y, intervals, X).items()}}`` (see
        :func:`conformal.metrics.coverage_by_mask`).
    confidence_level : float or None, default=0.9
        Drawn as a dashed horizontal line (``None``: none).
    ax : matplotlib Axes, default=None
        Where to draw (a new figure when ``None``).

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from conformal.missing import plot_coverage_by_missing
    >>> ax = plot_coverage_by_missing({"exact": {0: 0.91, 1: 0.9}, "impute": {0: 0.95, 1: 0.8}})
    >>> ax.get_xlabel()
    'number of missing values'
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    for name, by_size in results.items():
        sizes = sorted(by_size)
        ax.plot(sizes, [by_size[s] for s in sizes], marker="o", label=str(name))
    if confidence_level is not None:
        ax.axhline(confidence_level, color="grey", linestyle="--", linewidth=1)
    ax.set_xlabel("number of missing values")
    ax.set_ylabel("coverage")
    ax.legend()
    return ax
