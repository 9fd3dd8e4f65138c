"""DiffusionNAG (An et al., ICLR 2024): score-based diffusion over node-operation matrices,
guided by a noise-aware accuracy predictor.

Modules: :mod:`.encoding` (matrices, validity, metrics), :mod:`.sampler` (predictor-corrector),
:mod:`.train` (score training, checkpoints), :mod:`.guidance` (the accuracy predictor),
:mod:`.generator` (the whole method as one jittable generator: ``init``/``ask``/``tell``/``generate``).
Importing this package imports flax; the training and generator modules load on first use.
"""

import importlib

from . import encoding as encoding
from . import sampler as sampler

__all__ = ["Config", "ScoreModel", "encoding", "generate", "generator", "guidance", "load", "sampler", "train"]

_LAZY = {"generator", "guidance", "train"}
_FROM_GENERATOR = {"Config", "ScoreModel", "generate", "load"}


def __getattr__(name):
    if name in _LAZY:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _FROM_GENERATOR:
        return getattr(importlib.import_module(f"{__name__}.generator"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
