"""Classification data whose answer is known: a Gaussian mixture with known class probabilities.

``Y ~ Categorical(prior)``, ``X | Y = c ~ N(means[c], I)``, so ``P(Y = c | x)`` is known in closed
form (:func:`posterior`). A model that returns it (:class:`TrueProba`, wrapped in
``FrozenEstimator``) takes the model out of the question: only the calibration varies across
repetitions. The coverage of a set at ``x`` is then exact, ``sum_{y in C(x)} P(Y = y | x)``,
with no label noise; the coverage within class ``c`` is estimated on fresh draws of ``X | Y = c``.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.frozen import FrozenEstimator

# Three classes on a line; the rare class sits between the two common ones, so marginal
# calibration (dominated by the common classes) rarely puts it in a set.
MEANS = np.array([[-1.0, 0.0], [1.0, 0.0], [0.0, 0.3]])
PRIOR = np.array([0.45, 0.45, 0.10])


def posterior(X: np.ndarray, means: np.ndarray = MEANS, prior: np.ndarray = PRIOR) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    logits = np.log(prior) - 0.5 * ((X[:, None, :] - means[None]) ** 2).sum(axis=-1)
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    return p / p.sum(axis=1, keepdims=True)


def draw(
    n: int,
    rng: np.random.Generator,
    label: int | None = None,
    means: np.ndarray = MEANS,
    prior: np.ndarray = PRIOR,
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` draws of ``(X, y)``; all of class ``label`` when given."""
    k = means.shape[0]
    y = rng.choice(k, p=prior, size=n) if label is None else np.full(n, label)
    return means[y] + rng.normal(size=(n, means.shape[1])), y


class TrueProba(ClassifierMixin, BaseEstimator):
    """A classifier that knows ``P(Y | x)``: fitting learns nothing."""

    def __init__(self, means: np.ndarray = MEANS, prior: np.ndarray = PRIOR) -> None:
        self.means = means
        self.prior = prior

    def fit(self, X=None, y=None):
        self.classes_ = np.arange(self.means.shape[0])
        self.n_features_in_ = self.means.shape[1]
        return self

    def predict_proba(self, X):
        return posterior(X, self.means, self.prior)

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


def true_model(**kwargs) -> FrozenEstimator:
    return FrozenEstimator(TrueProba(**kwargs).fit())


def exact_coverage(X: np.ndarray, sets: np.ndarray, **kwargs) -> np.ndarray:
    """``P(Y in C(x) | x)`` for each row: the true probability mass inside its set."""
    return (posterior(X, **kwargs) * sets).sum(axis=1)


def many_classes(k: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Means and prior of a ``k``-class mixture in 5 dimensions (for top-k and RAPS, whose sets
    only differ from the others' with more than a few classes)."""
    rng = np.random.default_rng(seed)
    return {"means": rng.normal(scale=1.2, size=(k, 5)), "prior": rng.dirichlet(np.full(k, 5.0))}
