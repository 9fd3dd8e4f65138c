"""DiffusionNAG (An et al., ICLR 2024): score-based diffusion over node-operation matrices,
guided by a noise-aware accuracy predictor.

Modules: :mod:`.encoding` (matrices, validity, metrics), :mod:`.sampler` (predictor-corrector),
:mod:`.train` (score training, checkpoints), :mod:`.guidance` (predictor, guided rounds).
"""

from . import encoding as encoding
from . import sampler as sampler
