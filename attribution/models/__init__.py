"""Attribution models, one module per family, registered by name.

Importing this package registers every model in :data:`MODELS`.
"""

from attribution.models import heuristic, markov, shapley
from attribution.models._base import MODELS, Attribution, KernelOutput, ModelSpec, get_model

__all__ = [
    "MODELS",
    "Attribution",
    "KernelOutput",
    "ModelSpec",
    "get_model",
    "heuristic",
    "markov",
    "shapley",
]
