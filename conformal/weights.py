"""Weight schemes for non-exchangeable calibration: small clonable objects, never data arrays.

An estimator's ``weights`` parameter takes a scheme, a callable ``w(X) -> (n,)`` or ``None``.
At ``fit`` the scheme gives the calibration weights from the calibration rows and their
positions among the rows given to ``fit`` (the time order); at predict time it gives each test
row's own weight, or ``None`` when the test point weighs 1 (fixed weights).

- Drift (Barber, Candes, Ramdas and Tibshirani 2023, "nexCP"): :class:`ExponentialDecayWeights`
  and :class:`SlidingWindowWeights` weigh calibration points by their age, the test point
  weighing 1. The coverage gap is bounded by the weighted total variation between the data and
  their swaps (Theorem 2), small when the data drift slowly and the weights favour recent
  points.
- Covariate shift (Tibshirani, Barber, Candes and Ramdas 2019): a callable ``w(X)``, the
  likelihood ratio ``dP_test(x) / dP_train(x)``, evaluated on the calibration rows and on each
  test row: exact coverage under covariate shift when ``w`` is the true ratio. When it is
  unknown, :class:`LikelihoodRatioWeights` estimates it with a probabilistic classifier that
  tells unlabeled test rows from training rows, cross-fitted when the estimator gets the
  unfitted scheme and ``fit(X, y, X_target=X_new)``.

Sample-aligned weights of your own go to ``fit(X, y, calibration_weights=...)``; they are
sliced with the rows, so ``cross_val_score(..., params={"calibration_weights": w})`` works.

References
----------
R. Foygel Barber, E. J. Candes, A. Ramdas and R. J. Tibshirani (2023). Conformal prediction
beyond exchangeability. Annals of Statistics 51(2), 816-845.

R. J. Tibshirani, R. Foygel Barber, E. J. Candes and A. Ramdas (2019). Conformal prediction
under covariate shift. NeurIPS 32.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from numbers import Integral, Real
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import HasMethods, Interval, validate_parameter_constraints
from sklearn.utils.validation import check_is_fitted

from ._validation import as_rows, n_rows, seed_from, take
from .calibration._weights import check_weights, effective_sample_size

__all__ = [
    "CallableWeights",
    "ExponentialDecayWeights",
    "LikelihoodRatioWeights",
    "SlidingWindowWeights",
    "WeightScheme",
    "effective_sample_size",
    "resolve_weights",
]

Floats = NDArray[np.float64]


class WeightScheme(BaseEstimator):
    """Base class of weight schemes (clonable: parameters only, no data).

    Subclasses implement :meth:`calibration_weights` and may override :meth:`test_weights`.
    """

    _parameter_constraints: dict[str, Any] = {}

    def _validate(self) -> None:
        validate_parameter_constraints(
            self._parameter_constraints, self.get_params(deep=False), type(self).__name__
        )

    def bind(self, X_fit: Any, X_target: Any = None, random_state: Any = None) -> WeightScheme:
        """The scheme ready for one estimator's ``fit``: ``self`` for schemes without state.

        Estimators call it at the start of ``fit`` with every row given to ``fit`` and the
        ``X_target`` given to ``fit``; schemes that learn from data (an unfitted
        :class:`LikelihoodRatioWeights`) return a fitted copy, leaving ``self`` untouched.

        Parameters
        ----------
        X_fit : array-like of shape (n_fit, n_features)
            Every row given to the estimator's ``fit`` (the source sample).
        X_target : array-like of shape (n_target, n_features) or None, default=None
            Unlabeled rows of the test distribution, when the estimator's ``fit`` got them.
        random_state : int, RandomState or None, default=None
            The estimator's ``random_state`` (for cross-fitting).

        Returns
        -------
        WeightScheme
            A scheme whose :meth:`calibration_weights` and :meth:`test_weights` are ready.
        """
        return self

    def calibration_weights(self, X: Any, positions: NDArray[np.intp], n_fit: int) -> Floats:
        """Weights of the calibration rows.

        Parameters
        ----------
        X : array-like of shape (n_calibration, n_features)
            The calibration rows.
        positions : ndarray of int of shape (n_calibration,)
            Their positions among the ``n_fit`` rows given to ``fit`` (0 is the oldest).
        n_fit : int
            The number of rows given to ``fit``; the test point comes at position ``n_fit``.

        Returns
        -------
        weights : ndarray of shape (n_calibration,)
        """
        raise NotImplementedError  # pragma: no cover - abstract

    def test_weights(self, X: Any) -> Floats | None:
        """Each test row's own weight, or ``None``: every test point weighs 1.

        Parameters
        ----------
        X : array-like of shape (n_test, n_features)
            The test rows.

        Returns
        -------
        weights : ndarray of shape (n_test,) or None
            The weight of each test row; ``None`` (the default) for weight 1 each.
        """
        return None


class ExponentialDecayWeights(WeightScheme):
    """``w_i = rho ** age_i``: the calibration row at position ``p`` of ``n`` rows given to
    ``fit`` weighs ``rho ** (n - p)``; the test point (age 0) weighs 1 (nexCP, Barber et al.
    2023, Section 4).

    Parameters
    ----------
    rho : float in (0, 1]
        Decay per row; ``1`` is the exchangeable (unweighted) case. An effective memory of about
        ``1 / (1 - rho)`` rows.
    time : str, int or None, default=None
        The time order: ``None`` is the order of the rows given to ``fit``; a column name (of
        the DataFrame given to ``fit``) or an integer column index orders the rows by that
        column (numbers or datetimes, no missing values; ties keep their row order), for the
        ages and for the ordered split (``shuffle=False``) of the estimator. Ages count rows in
        that order. The column stays in ``X``, so the model sees it too: to keep it out, wrap
        the model, e.g. ``make_pipeline(make_column_transformer(("drop", ["t"]),
        remainder="passthrough"), model)``.

    Examples
    --------
    >>> import numpy as np
    >>> from conformal.weights import ExponentialDecayWeights
    >>> ExponentialDecayWeights(0.5).calibration_weights(None, np.array([7, 8, 9]), 10)
    array([0.125, 0.25 , 0.5  ])
    """

    _parameter_constraints: dict[str, Any] = {
        "rho": [Interval(Real, 0.0, 1.0, closed="right")],
        "time": [str, Integral, None],
    }

    def __init__(self, rho: float = 0.99, *, time: str | int | None = None) -> None:
        self.rho = rho
        self.time = time

    def calibration_weights(self, X: Any, positions: NDArray[np.intp], n_fit: int) -> Floats:
        self._validate()
        age = n_fit - np.asarray(positions, dtype=np.float64)
        return np.power(float(self.rho), age)


class SlidingWindowWeights(WeightScheme):
    """Weight 1 for the ``window`` most recent rows given to ``fit``, 0 for older ones (nexCP's
    windowed weights, Barber et al. 2023).

    Parameters
    ----------
    window : int >= 1
        How many of the most recent rows count.
    time : str, int or None, default=None
        The time order: ``None`` is the order of the rows given to ``fit``; a column name (of
        the DataFrame given to ``fit``) or an integer column index orders the rows by that
        column (numbers or datetimes, no missing values; ties keep their row order), for the
        ages and for the ordered split (``shuffle=False``) of the estimator. Ages count rows in
        that order. The column stays in ``X``, so the model sees it too: to keep it out, wrap
        the model, e.g. ``make_pipeline(make_column_transformer(("drop", ["t"]),
        remainder="passthrough"), model)``.

    Examples
    --------
    >>> import numpy as np
    >>> from conformal.weights import SlidingWindowWeights
    >>> SlidingWindowWeights(2).calibration_weights(None, np.array([7, 8, 9]), 10)
    array([0., 1., 1.])
    """

    _parameter_constraints: dict[str, Any] = {
        "window": [Interval(Integral, 1, None, closed="left")],
        "time": [str, Integral, None],
    }

    def __init__(self, window: int = 100, *, time: str | int | None = None) -> None:
        self.window = window
        self.time = time

    def calibration_weights(self, X: Any, positions: NDArray[np.intp], n_fit: int) -> Floats:
        self._validate()
        age = n_fit - np.asarray(positions, dtype=np.int64)
        return (age <= int(self.window)).astype(np.float64)


class CallableWeights(WeightScheme):
    """A likelihood ratio ``w(X) -> (n,)`` evaluated on the calibration rows and on each test
    row (covariate shift, Tibshirani et al. 2019). A plain callable passed as ``weights=`` is
    wrapped in this scheme.

    Parameters
    ----------
    function : callable
        ``function(X)`` returns one finite, non-negative weight per row of ``X``.
    """

    _parameter_constraints: dict[str, Any] = {"function": [callable]}

    def __init__(self, function: Callable[[Any], ArrayLike] | None = None) -> None:
        self.function = function

    def _call(self, X: Any, where: str) -> Floats:
        self._validate()
        values = np.asarray(self.function(X), dtype=np.float64).ravel()  # type: ignore[misc]
        n = n_rows(X)
        if values.shape[0] != n:
            raise ValueError(
                f"weights(X) returned {values.shape[0]} values for {n} {where} rows; it must "
                "return one weight per row of the X it is given."
            )
        # The calibration layer's check: finite, non-negative, naming the entry.
        return check_weights(values, n, "weights(X)", f" (the {where} rows)")

    def calibration_weights(self, X: Any, positions: NDArray[np.intp], n_fit: int) -> Floats:
        return self._call(X, "calibration")

    def test_weights(self, X: Any) -> Floats | None:
        return self._call(X, "test")


class LikelihoodRatioWeights(WeightScheme):
    """The likelihood ratio ``dP_target(x) / dP_source(x)`` estimated by a probabilistic
    classifier that tells unlabeled target rows from source rows (covariate shift, Tibshirani
    et al. 2019, Section 4.1).

    A clone of ``classifier`` learns to predict label 1 for target rows and 0 for source rows;
    with ``c(x)`` its probability of label 1, Bayes' rule gives the ratio

    ``w(x) = c(x) / (1 - c(x)) * n_source / n_target``

    (the odds, corrected for the sizes of the two samples it was trained on). The calibration
    rows are weighted by ``w(X_i)`` and each test row by ``w(x)``; coverage is exact when ``w``
    is the true ratio and approximate when it is estimated.

    The classifier sees the rows exactly as the estimator's ``fit`` gets them: when the
    conformal estimator is the last step of a ``Pipeline``, ``X_target`` (a fit parameter) is
    not transformed by the earlier steps, so put the preprocessing inside the conformal estimator
    instead (``SplitConformalRegressor(make_pipeline(scaler, model), weights=...)``).

    Two ways to use it:

    - **Cross-fitted** (recommended): pass the *unfitted* scheme as the estimator's
      ``weights`` and the unlabeled target rows to its ``fit``:
      ``SplitConformalRegressor(weights=LikelihoodRatioWeights()).fit(X, y, X_target=X_new)``.
      The estimator calls :meth:`bind`, which fits a copy (the estimator's ``weights_scheme_``;
      the scheme you passed stays unfitted): the rows given to ``fit`` and the target rows are
      each split into ``cv`` folds, and classifier ``k`` is fitted on the source and target
      rows outside fold ``k``. Each calibration row is weighted by the classifier of its own
      fold, which never saw it (``oof_weights_``); each test row by the mean of the ``cv``
      classifiers' ratios (each carries its own size correction, so the mean stays on the scale
      of the calibration weights).
    - **Fitted by you**: ``LikelihoodRatioWeights().fit(X_source, X_target)`` is a callable
      ``w(X) -> (n,)`` fitted once on all the rows given; pass it as ``weights=`` and it is
      used as it is (``clone`` keeps it fitted, like a plain function). No cross-fitting then:
      fit it on source rows that the estimator does not calibrate on, or calibration rows are
      weighted by a classifier that saw them.

    Parameters
    ----------
    classifier : classifier with ``predict_proba``, default=None
        The probabilistic classifier (cloned; the one you pass is never fitted). ``None``
        means ``make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))``: its log
        odds are linear in ``x``, exactly the form of the ratio of an exponential tilting. A
        classifier without ``predict_proba`` can be wrapped in
        ``sklearn.calibration.CalibratedClassifierCV``.
    clip : float in (0, 0.5) or None, default=None
        Clip the classifier's probabilities to ``[clip, 1 - clip]``, so the ratios lie in
        ``[clip / (1 - clip), (1 - clip) / clip] * n_source / n_target``: finite and positive,
        at the cost of a bias where the two samples barely overlap. ``None``: no clipping; a
        probability of exactly 1 of being a target row (an infinite ratio) is then an error.
    cv : int >= 2, default=5
        Number of folds of the cross-fitting in :meth:`bind`; not used by :meth:`fit`. Both the
        source and the target rows need at least ``cv`` rows.
    random_state : int, Generator, RandomState or None, default=None
        Shuffles the folds of the cross-fitting; ``None`` uses the ``random_state`` of the
        estimator that calls :meth:`bind`. A generator you pass is not advanced. The
        classifier's own randomness is its own ``random_state`` parameter.

    Attributes
    ----------
    classifiers_ : list of classifiers
        The fitted clones of ``classifier``: one after :meth:`fit`, ``cv`` after :meth:`bind`.
    size_ratios_ : ndarray of shape (n_classifiers,)
        ``n_source / n_target`` of the rows each classifier was trained on.
    oof_weights_ : ndarray of shape (n_source,) or None
        The out-of-fold ratio of each source row (cross-fitted copies only; ``None`` after
        :meth:`fit`): its weight when it is a calibration row.
    n_source_ : int
        Number of source rows.
    n_target_ : int
        Number of target rows.
    n_features_in_ : int
        Number of features.

    See Also
    --------
    CallableWeights : A known likelihood ratio ``w(X)``.
    effective_sample_size : How many unweighted points the weights are worth.

    Notes
    -----
    Estimated ratios are often heavy-tailed: check
    ``effective_sample_size(model.calibration_weights_)`` (intervals are only as stable as it
    is large) and consider ``clip`` or a smoother classifier when it is small.

    References
    ----------
    R. J. Tibshirani, R. Foygel Barber, E. J. Candes and A. Ramdas (2019). Conformal prediction
    under covariate shift. NeurIPS 32.

    Examples
    --------
    The source rows are ``N(0, 1)``, the target rows ``N(1, 1)``: the true ratio is
    ``exp(x - 1/2)``, i.e. 0.22, 0.61 and 1.65 at -1, 0 and 1.

    >>> import numpy as np
    >>> from conformal.weights import LikelihoodRatioWeights
    >>> rng = np.random.default_rng(0)
    >>> X_source = rng.normal(size=(2000, 1))
    >>> X_target = rng.normal(loc=1.0, size=(1000, 1))
    >>> w = LikelihoodRatioWeights().fit(X_source, X_target)
    >>> w(np.array([[-1.0], [0.0], [1.0]])).round(2)
    array([0.23, 0.63, 1.71])

    Cross-fitted by an estimator that gets the unfitted scheme and the target rows:

    >>> from conformal import SplitConformalRegressor
    >>> y = X_source[:, 0] + rng.normal(size=2000)
    >>> scheme = LikelihoodRatioWeights()
    >>> model = SplitConformalRegressor(weights=scheme, random_state=0)
    >>> model = model.fit(X_source, y, X_target=X_target)
    >>> fitted = model.weights_scheme_  # the fitted copy; ``scheme`` stays unfitted
    >>> len(fitted.classifiers_), fitted.oof_weights_.shape, model.calibration_weights_.shape
    (5, (2000,), (600,))
    """

    _learns_from_target = True  # estimators accept fit(..., X_target=...) for it

    _parameter_constraints: dict[str, Any] = {
        "classifier": [HasMethods(["fit"]), None],
        "clip": [Interval(Real, 0.0, 0.5, closed="neither"), None],
        "cv": [Interval(Integral, 2, None, closed="left")],
        "random_state": ["random_state", np.random.Generator],
    }

    def __init__(
        self,
        classifier: Any = None,
        *,
        clip: float | None = None,
        cv: int = 5,
        random_state: Any = None,
    ) -> None:
        self.classifier = classifier
        self.clip = clip
        self.cv = cv
        self.random_state = random_state

    def __sklearn_clone__(self) -> WeightScheme:
        # A fitted scheme is a fixed function w(X), like a plain callable: cloning an estimator
        # (cross_val_score, GridSearchCV) keeps it fitted, as an independent copy, so that
        # set_params on the clone never changes the user's scheme (or an estimator fitted with
        # it). An unfitted one clones as usual.
        if hasattr(self, "classifiers_"):
            return copy.deepcopy(self)
        return super().__sklearn_clone__()

    # ------------------------------------------------------------------ fitting

    def _new_classifier(self) -> Any:
        if self.classifier is None:
            return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
        if not hasattr(self.classifier, "predict_proba"):
            name = type(self.classifier).__name__
            raise ValueError(
                f"The 'classifier' parameter of LikelihoodRatioWeights must have predict_proba "
                f"(the probability of being a target row): {name} has none. Use a probabilistic "
                "classifier (e.g. LogisticRegression() or HistGradientBoostingClassifier()), "
                f"or wrap it: CalibratedClassifierCV({name}(...))."
            )
        return clone(self.classifier)

    def _stack(
        self,
        X_source: Any,
        X_target: Any,
        min_rows: int,
        stack: bool = True,
        source: str = "X_source",
    ) -> tuple[Any, Any, Any]:
        """Both samples as rows, checked against each other, and their stack (``None`` when
        ``stack`` is false); ``source`` names the source rows in messages."""
        if X_target is None:
            raise ValueError(
                "X_target is None: LikelihoodRatioWeights needs unlabeled rows of the target "
                "(test) distribution; pass them as X_target."
            )
        X_source, X_target = as_rows(X_source), as_rows(X_target)
        for name, X in ((source, X_source), ("X_target", X_target)):
            if n_rows(X) < min_rows:
                need = "at least 1" if min_rows == 1 else f"at least cv={self.cv}"
                raise ValueError(
                    f"{name} has {n_rows(X)} rows; LikelihoodRatioWeights needs {need} "
                    f"(one per fold). Give more rows{'' if min_rows == 1 else ' or a smaller cv'}."
                )
        frames = [hasattr(X, "columns") for X in (X_source, X_target)]
        if frames[0] != frames[1]:
            kinds = [
                "a DataFrame" if f else type(X).__name__
                for f, X in zip(frames, (X_source, X_target), strict=True)
            ]
            raise ValueError(
                f"{source} is {kinds[0]} but X_target is {kinds[1]}: pass both as DataFrames "
                "with the same columns, or both as arrays."
            )
        if frames[0]:
            source_columns, target_columns = list(X_source.columns), list(X_target.columns)
            if source_columns != target_columns:
                raise ValueError(
                    f"X_target has columns {target_columns} but {source} has columns "
                    f"{source_columns}; the target rows need the source's columns, in the same "
                    "order."
                )
        n_features = [np.shape(X)[1] for X in (X_source, X_target)]
        if n_features[0] != n_features[1]:
            raise ValueError(
                f"X_target has {n_features[1]} features but {source} has {n_features[0]}; the "
                "target rows need the source's features."
            )
        self.n_features_in_ = int(n_features[0])
        if not stack:
            return X_source, X_target, None
        if frames[0]:
            import pandas as pd

            stacked = pd.concat([X_source, X_target], ignore_index=True)
        elif sp.issparse(X_source) or sp.issparse(X_target):
            stacked = sp.vstack([sp.csr_matrix(X_source), sp.csr_matrix(X_target)], format="csr")
        else:
            stacked = np.concatenate([np.asarray(X_source), np.asarray(X_target)])
        return X_source, X_target, stacked

    def fit(self, X_source: ArrayLike, X_target: ArrayLike) -> LikelihoodRatioWeights:
        """Fit one classifier on all the source (label 0) and target (label 1) rows.

        Parameters
        ----------
        X_source : array-like of shape (n_source, n_features)
            Rows of the source (training and calibration) distribution.
        X_target : array-like of shape (n_target, n_features)
            Unlabeled rows of the target (test) distribution; the same features (DataFrames:
            the same columns) as ``X_source``.

        Returns
        -------
        self : LikelihoodRatioWeights
            The fitted scheme, a callable ``w(X) -> (n,)``.

        Raises
        ------
        ValueError
            For bad parameters, a classifier without ``predict_proba``, or samples that do not
            match (their features or columns differ, one of them is empty).
        """
        self._validate()
        classifier = self._new_classifier()
        X_source, X_target, stacked = self._stack(X_source, X_target, 1)
        n_source, n_target = n_rows(X_source), n_rows(X_target)
        labels = np.r_[np.zeros(n_source, dtype=np.intp), np.ones(n_target, dtype=np.intp)]
        self.classifiers_ = [classifier.fit(stacked, labels)]
        self.size_ratios_ = np.array([n_source / n_target])
        self.oof_weights_: Floats | None = None
        self.n_source_, self.n_target_ = n_source, n_target
        return self

    def bind(self, X_fit: Any, X_target: Any = None, random_state: Any = None) -> WeightScheme:
        """A cross-fitted copy for one estimator's ``fit``; ``self`` when already fitted.

        Parameters
        ----------
        X_fit : array-like of shape (n_fit, n_features)
            Every row given to the estimator's ``fit`` (the source rows).
        X_target : array-like of shape (n_target, n_features) or None, default=None
            Unlabeled rows of the target distribution (the estimator's ``fit(...,
            X_target=...)``). Ignored when the scheme is already fitted.
        random_state : int, Generator, RandomState or None, default=None
            The estimator's ``random_state``: shuffles the folds when the scheme's own
            ``random_state`` is ``None``.

        Returns
        -------
        WeightScheme
            ``self`` when fitted; otherwise a fitted copy whose ``cv`` classifiers were each
            trained without one fold of the source rows and one of the target rows.

        Raises
        ------
        ValueError
            When the scheme is unfitted and ``X_target`` is None, for bad parameters, or for
            samples that do not match.
        """
        if hasattr(self, "classifiers_"):
            return self
        if X_target is None:
            raise ValueError(
                "LikelihoodRatioWeights is not fitted and got no target rows: pass the unlabeled "
                "test rows to the estimator's fit (fit(X, y, X_target=X_new)) to cross-fit it, "
                "or fit the scheme first (LikelihoodRatioWeights().fit(X_source, X_target))."
            )
        self._validate()
        bound = clone(self)
        bound._cross_fit(
            X_fit, X_target, self.random_state if self.random_state is not None else random_state
        )
        return bound

    def _cross_fit(self, X_source: Any, X_target: Any, random_state: Any) -> None:
        cv = int(self.cv)
        self._new_classifier()  # the predict_proba check, before any work
        X_source, X_target, _ = self._stack(X_source, X_target, cv, stack=False, source="X_fit")
        n_source, n_target = n_rows(X_source), n_rows(X_target)
        folds = KFold(cv, shuffle=True, random_state=seed_from(random_state))
        source_folds = list(folds.split(np.empty((n_source, 0))))
        target_folds = list(folds.split(np.empty((n_target, 0))))
        oof = np.empty(n_source)
        self.classifiers_ = []
        ratios = []
        for (source_train, source_out), (target_train, _) in zip(
            source_folds, target_folds, strict=True
        ):
            _, _, stacked = self._stack(
                take(X_source, source_train), take(X_target, target_train), 1
            )
            labels = np.r_[
                np.zeros(len(source_train), dtype=np.intp),
                np.ones(len(target_train), dtype=np.intp),
            ]
            self.classifiers_.append(self._new_classifier().fit(stacked, labels))
            ratios.append(len(source_train) / len(target_train))
            self.size_ratios_ = np.array(ratios)
            oof[source_out] = self._ratio(
                len(ratios) - 1, take(X_source, source_out), "X_fit", source_out
            )
        self.oof_weights_ = oof
        self.n_source_, self.n_target_ = n_source, n_target
        self.n_features_in_ = int(np.shape(X_source)[1])

    # ------------------------------------------------------------------ weights

    def _ratio(self, k: int, X: Any, name: str, rows: NDArray[np.intp] | None = None) -> Floats:
        """``c / (1 - c) * size_ratio`` of classifier ``k`` on the rows of ``X`` (``rows[i]``:
        the number of row ``i`` in the error message)."""
        classifier = self.classifiers_[k]
        proba = np.asarray(classifier.predict_proba(X), dtype=np.float64)
        classes = getattr(classifier, "classes_", None)
        column = 1 if classes is None else int(np.flatnonzero(np.asarray(classes) == 1)[0])
        p = proba[:, column]
        if self.clip is not None:
            p = np.clip(p, float(self.clip), 1.0 - float(self.clip))
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = p / (1.0 - p) * self.size_ratios_[k]
        bad = ~np.isfinite(ratio)
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            row = first if rows is None else int(rows[first])
            raise ValueError(
                f"the classifier gives probability {float(p[first])!r} of being a target row to "
                f"{name}[{row}] ({int(bad.sum())} such row{'s' if bad.sum() > 1 else ''}): an "
                "infinite likelihood ratio. Set clip (e.g. LikelihoodRatioWeights(clip=0.01) "
                "bounds the ratios) or use a smoother classifier."
            )
        return ratio

    def __call__(self, X: ArrayLike) -> Floats:
        """The estimated likelihood ratio of each row of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The rows to weigh.

        Returns
        -------
        weights : ndarray of shape (n_samples,)
            ``c(x) / (1 - c(x)) * n_source / n_target`` (the mean over the ``cv`` classifiers
            of a cross-fitted copy): finite and non-negative.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            When the scheme is not fitted.
        ValueError
            When a ratio is infinite (probability 1 of being a target row, ``clip=None``).
        """
        check_is_fitted(self, "classifiers_", msg=_NOT_FITTED)
        X = as_rows(X)
        if np.ndim(X) == 2 and np.shape(X)[1] != self.n_features_in_:
            raise ValueError(
                f"this LikelihoodRatioWeights was fitted on rows of {self.n_features_in_} "
                f"features; X has {np.shape(X)[1]}. Fit it on the same columns as the estimator's "
                "X (or pass it unfitted with fit(X, y, X_target=...))."
            )
        total = self._ratio(0, X, "X")
        for k in range(1, len(self.classifiers_)):
            total = total + self._ratio(k, X, "X")
        return total / len(self.classifiers_)

    def calibration_weights(self, X: Any, positions: NDArray[np.intp], n_fit: int) -> Floats:
        """Weights of the calibration rows: their out-of-fold ratios when cross-fitted.

        Parameters
        ----------
        X : array-like of shape (n_calibration, n_features)
            The calibration rows.
        positions : ndarray of int of shape (n_calibration,)
            Their positions among the ``n_fit`` rows given to ``fit`` (and to :meth:`bind`).
        n_fit : int
            The number of rows given to ``fit``.

        Returns
        -------
        weights : ndarray of shape (n_calibration,)
            ``oof_weights_[positions]`` for a cross-fitted copy, ``self(X)`` for a scheme
            fitted by :meth:`fit`.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            When the scheme is not fitted.
        ValueError
            When a cross-fitted copy was bound to another number of rows than ``n_fit``.
        """
        check_is_fitted(self, "classifiers_", msg=_NOT_FITTED)
        if self.oof_weights_ is None:
            return self(X)
        if n_fit != self.oof_weights_.shape[0]:
            raise ValueError(
                f"this LikelihoodRatioWeights was cross-fitted on {self.oof_weights_.shape[0]} "
                f"rows (bind) but the estimator's fit got n_fit={n_fit}; bind the unfitted "
                "scheme to the rows given to that fit."
            )
        return self.oof_weights_[np.asarray(positions, dtype=np.intp)]

    def test_weights(self, X: Any) -> Floats | None:
        """Each test row's estimated likelihood ratio, ``self(X)``.

        Parameters
        ----------
        X : array-like of shape (n_test, n_features)
            The test rows.

        Returns
        -------
        weights : ndarray of shape (n_test,)
            The ratio of each test row (the mean over the classifiers of a cross-fitted copy).
        """
        return self(X)


_NOT_FITTED = (
    "This %(name)s is not fitted yet: call fit(X_source, X_target) first, or pass it unfitted "
    "as an estimator's weights together with the target rows, fit(X, y, X_target=X_new)."
)


def resolve_weights(weights: Any) -> WeightScheme | None:
    """The scheme behind an estimator's ``weights`` parameter: ``None``, a scheme as it is, a
    callable wrapped in :class:`CallableWeights`.

    Parameters
    ----------
    weights : WeightScheme, callable or None
        The value of the estimator's ``weights`` parameter.

    Returns
    -------
    WeightScheme or None
        The scheme, or ``None`` for unweighted calibration.

    Raises
    ------
    ValueError
        For anything else (an array: pass it to ``fit`` as ``calibration_weights=``).
    """
    if weights is None or isinstance(weights, WeightScheme):
        return weights
    if callable(weights):
        return CallableWeights(weights)
    raise ValueError(
        "The 'weights' parameter must be a weight scheme (e.g. ExponentialDecayWeights(0.99)), "
        f"a callable w(X) -> (n,) or None. Got {type(weights).__name__} instead; sample-aligned "
        "weights go to fit(X, y, calibration_weights=...)."
    )
