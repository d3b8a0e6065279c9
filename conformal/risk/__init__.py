"""Conformal risk control: CRC (exchangeable and weighted, non-exchangeable), RCPS and
Learn-then-Test, as learner-free functions and as estimators.

Learner-free: :func:`conformal_risk_control` (a loss matrix over a lambda grid),
:func:`conformal_risk_control_steps` (step losses, by bisection over sorted breakpoints),
:class:`StreamingRiskControl` (exponential weights on a stream), :func:`rcps` with
:func:`risk_upper_confidence_bound`, :func:`learn_then_test` with
:func:`hoeffding_bentkus_pvalues`.
"""

from ._bounds import (
    hoeffding_bentkus_pvalues,
    learn_then_test,
    rcps,
    risk_upper_confidence_bound,
)
from ._control import (
    StreamingRiskControl,
    conformal_risk_control,
    conformal_risk_control_steps,
)
from ._estimators import (
    RiskControlBinaryClassifier,
    RiskControlMultilabelClassifier,
    RiskControlRegressor,
)

__all__ = [
    "RiskControlBinaryClassifier",
    "RiskControlMultilabelClassifier",
    "RiskControlRegressor",
    "StreamingRiskControl",
    "conformal_risk_control",
    "conformal_risk_control_steps",
    "hoeffding_bentkus_pvalues",
    "learn_then_test",
    "rcps",
    "risk_upper_confidence_bound",
]
