"""The difficulty model of the normalized score: a learner, so it belongs to the estimator.

``NormalizedScore`` only says how to build it (``difficulty_estimator``, ``cv``, ``min_scale``)
and divides by the scale it is given; :class:`~conformal.SplitConformalRegressor` fits the model
(``difficulty_estimator_``) and floors its predictions (``scale_floor_``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.model_selection import cross_val_predict
from sklearn.pipeline import Pipeline

from .._validation import is_frozen

__all__ = ["default_difficulty_estimator", "fit_difficulty", "predict_scale"]


def default_difficulty_estimator(point_model: Any = None) -> Any:
    """The difficulty model when ``NormalizedScore(difficulty_estimator=None)``:
    ``HistGradientBoostingRegressor(max_iter=100, min_samples_leaf=20)``, behind the point
    model's own preprocessing when the point model is a ``Pipeline`` (its steps but the last,
    cloned), so that it sees the features the point model sees (encoded strings, scaled
    columns) rather than the raw ``X``."""
    model = HistGradientBoostingRegressor(max_iter=100, min_samples_leaf=20)
    if isinstance(point_model, Pipeline) and len(point_model.steps) > 1:
        preprocessing = [(name, clone(step)) for name, step in point_model.steps[:-1]]
        return Pipeline([*preprocessing, ("difficulty", model)])
    return model


def _floor(reference: NDArray[np.float64], min_scale: float) -> float:
    """``min_scale`` times the mean reference scale (the smallest positive float if it is 0),
    in the units of ``y``: rescaling ``y`` rescales the intervals."""
    mean = float(reference.mean()) if reference.size else 0.0
    return min_scale * mean if mean > 0 else float(np.finfo(np.float64).tiny)


def fit_difficulty(
    spec: Any, point_model: Any, fitted_point_model: Any, X: Any, y: NDArray | None
) -> tuple[Any, float]:
    """The fitted difficulty model and the floor of its predictions.

    Parameters
    ----------
    spec : NormalizedScore
        ``difficulty_estimator`` (``None``: the default), ``cv`` and ``min_scale``.
    point_model : regressor
        The unfitted point model, refitted on ``cv`` folds for out-of-fold residuals.
    fitted_point_model : regressor
        The point model fitted on ``X`` (in-sample residuals when ``cv`` is ``None`` or the
        training part is too small for the folds).
    X : array-like of shape (n, n_features)
        The training part, or the calibration part when everything is frozen (``y`` is None).
    y : ndarray of shape (n,) or None
        Targets of ``X``; ``None`` only with a frozen difficulty model.

    Returns
    -------
    model : regressor
        The fitted difficulty model (a ``FrozenEstimator`` is used as it is).
    floor : float
        ``min_scale`` times the mean absolute training residual (for a frozen model: its mean
        prediction on ``X``).

    Raises
    ------
    ValueError
        With a frozen point model and a difficulty model that is not frozen: all of the data
        is calibration data, so nothing is left to fit it on.
    """
    model = spec.difficulty_estimator
    if model is None:
        model = default_difficulty_estimator(point_model)
    if y is None:  # a frozen point model: every row calibrates
        if not is_frozen(model):
            raise ValueError(
                "conformity_score='normalized' with a frozen (prefit) estimator needs a prefit "
                "difficulty model too: pass "
                "conformity_score=NormalizedScore(FrozenEstimator(difficulty_model)), since "
                "all of the data given to fit is calibration data."
            )
        reference = np.maximum(np.asarray(model.predict(X), dtype=np.float64), 0.0)
        return model, _floor(reference, spec.min_scale)
    if spec.cv is None or len(y) < 2 * spec.cv:
        residual = y - np.asarray(fitted_point_model.predict(X), dtype=np.float64).ravel()
    else:
        out_of_fold = cross_val_predict(clone(point_model), X, y, cv=spec.cv)
        residual = y - np.asarray(out_of_fold, dtype=np.float64).ravel()
    reference = np.abs(residual)
    if not is_frozen(model):
        try:
            model = clone(model).fit(X, reference)
        except (TypeError, ValueError) as error:
            if spec.difficulty_estimator is not None:
                raise
            raise ValueError(
                f"the default difficulty model of conformity_score='normalized' "
                f"({type(model).__name__}) could not be fitted on X: {error} Pass one that "
                "handles your features, e.g. conformity_score=NormalizedScore("
                "difficulty_estimator=make_pipeline(your_preprocessing, "
                "HistGradientBoostingRegressor())), or wrap your model in a Pipeline whose "
                "preprocessing the default difficulty model then reuses."
            ) from None
    return model, _floor(reference, spec.min_scale)


def predict_scale(model: Any, floor: float, X: Any) -> NDArray[np.float64]:
    """``sigma(x) = max(model(x), floor)`` for the rows of ``X``."""
    sigma = np.asarray(model.predict(X), dtype=np.float64).ravel()
    return np.maximum(sigma, floor)
