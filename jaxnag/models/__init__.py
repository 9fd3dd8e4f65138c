"""Networks of generated architectures (Flax NNX).

- :mod:`jaxnag.models.nb201`: the NAS-Bench-201 network of a cell, with exact parameter and FLOP
  counts (the benchmark's ``params_mb_*`` / ``flops_m_*``).
"""

from . import nb201

__all__ = ["nb201"]
