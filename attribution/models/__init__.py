"""Attribution models, one module per family, registered by name.

Importing this package registers every model in :data:`MODELS`.
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
