"""Networks of generated architectures (Flax NNX).

- :mod:`jaxnag.models.nb201`: the NAS-Bench-201 network of a cell, with exact parameter and FLOP
  counts (the benchmark's ``params_mb_*`` / ``flops_m_*``).
- :mod:`jaxnag.models.tnb101`: the TransNAS-Bench-101 micro network of a cell with a classification
  head, with exact parameter counts (NASLib's ``params``).
- :mod:`jaxnag.models.nb101`: the NAS-Bench-101 network of a cell, with exact parameter and FLOP counts
  (NASLib's ``params`` and ``flops``); a concrete network only (no mixed form yet).
- :mod:`jaxnag.models.darts`: the DARTS network of a genotype (NetworkCIFAR), with exact parameter and FLOP
  counts (NASLib's NB301 ``params`` and ``flops``), and its mixed form (every op on every supernet edge) for
  populations.
- :mod:`jaxnag.models.layers`: what they share (initialisation, taps for zero-cost proxies, a
  population in one program).

Every model module has ``Network(ops)``, ``MixedNetwork`` (``net(x, ops)`` with traced ``ops``),
``init_population``, ``op_weight``, ``param_count`` and ``flops`` (multiply-adds by default; NASLib's count with
``convention="naslib"``, :data:`~jaxnag.models.layers.FLOP_CONVENTIONS`); :func:`for_space` picks it.

Examples:
  >>> from jaxnag import models, spaces
  >>> nb = models.for_space(spaces.get("nb201"))
  >>> nb.param_count([3, 3, 3, 3, 3, 3]) > nb.param_count([0, 0, 0, 0, 0, 0])  # convolutions vs none
  True
"""

from . import darts, layers, nb101, nb201, tnb101

__all__ = ["darts", "for_space", "layers", "nb101", "nb201", "tnb101"]

_BY_SPACE = {"nb201": nb201, "tnb101_micro": tnb101, "darts": darts}


def for_space(space):
    """The model module of ``space`` (a :class:`~jaxnag.spaces.SearchSpace` or its name).

    Examples:
      >>> from jaxnag import models
      >>> models.for_space("tnb101_micro").__name__
      'jaxnag.models.tnb101'
    """
    from ..errors import ConfigError
    name = getattr(space, "name", space)
    if name not in _BY_SPACE:
        raise ConfigError(f"jaxnag builds networks for {', '.join(_BY_SPACE)}, not {name}")
    return _BY_SPACE[name]
