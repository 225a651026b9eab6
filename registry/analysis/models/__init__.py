"""Model versions: skops artefacts loaded only through an allow-list and verified, and a
version made ready to serve (its pipeline loaded, its explainer built and checked).

Only the names below are for other layers; the modules behind them are private.
"""

from ._artefacts import (
    DEFAULT_TRUSTED_ESTIMATORS,
    ArtefactRefused,
    check_types,
    load_artefact,
    sha256_bytes,
    sniff_refuse_pickle,
)
from ._prepared import Prepared, check_prepared, derive_features, model_frame, prepare

__all__ = [
    "DEFAULT_TRUSTED_ESTIMATORS",
    "ArtefactRefused",
    "Prepared",
    "check_prepared",
    "check_types",
    "derive_features",
    "load_artefact",
    "model_frame",
    "prepare",
    "sha256_bytes",
    "sniff_refuse_pickle",
]
