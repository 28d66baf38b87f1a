"""Attribution models, one module per family, registered by name.

Importing this package registers every model in :data:`MODELS`. The families are
:mod:`~attribution.models.heuristic`, :mod:`~attribution.models.markov`,
:mod:`~attribution.models.shapley` and :mod:`~attribution.models.data_driven`; the maths they
share has one home each: :mod:`~attribution.models.scoring` (log loss, weighted AUC,
cross-validation), :mod:`~attribution.models.glm` (links and the Newton solver),
:mod:`~attribution.models.features` and :mod:`~attribution.models.synergy` (the data-driven
model's features and synergy screen), :mod:`~attribution.models.hazard` (its time model) and
:func:`~attribution.models.shapley.shapley_weights` (one Shapley weighting).
:mod:`~attribution.models.base` holds the result, the registry and ``"(baseline)"``.
"""

# isort: off
# registration order is the order of MODELS and of attribute_all's rows: rules, then the
# path-based data-driven models, then the fitted conversion model
from attribution.models import heuristic, markov, shapley
from attribution.models import data_driven

# isort: on
from attribution.models.base import MODELS, Attribution, KernelOutput, ModelSpec, get_model

__all__ = [
    "MODELS",
    "Attribution",
    "KernelOutput",
    "ModelSpec",
    "data_driven",
    "get_model",
    "heuristic",
    "markov",
    "shapley",
]
