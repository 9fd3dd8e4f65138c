"""Predictors of fitness fitted online inside a compiled program, and acquisition functions.

A predictor is a static, hashable object (a config field) with ``init(space) -> state``,
``update(state, ops [q, R], values [q], space, mask=None) -> state`` (rows with a non-finite value
skipped) and ``predict(state, ops [m, R], space) -> (mean [m], std [m])``; its state is a pytree, so a
run that fits one is one program, vmappable over seeds. :func:`get` builds one by name:

* ``"ridge"``: ridge on one-hot features (additive in the slots; no uncertainty);
* ``"gp"``: a Gaussian process with an exponential Hamming kernel (interactions of every order);
* ``"gp_rank"``: the same on the values' normal scores (``GP(warp="rank")``: a long tail of poor architectures
  does not flatten the top; it predicts ranks in the values' units, not values);
* ``"pairwise"``: a Gaussian process whose mean is ridge on one-hot plus pairwise (slot x slot) features;
* ``"additive"``: a Gaussian process whose mean is ridge on one-hot features, with an uncertainty;
* ``"path"``: a Gaussian process on one-hot plus BANANAS's path features (spaces with a cell graph; below
  ``"gp"`` in rank correlation on all 16 such tables measured, ``docs/predictors_path.md``);
* ``"ensemble"``: an ensemble of small MLPs trained online (BANANAS-style; the members' spread is the
  uncertainty).

Examples:
  >>> from jaxnag import predictors
  >>> predictors.get("gp", memory=100).kernel
  'hamming'
"""

from __future__ import annotations

from ..errors import ConfigError
from ._acquisition import ACQUISITIONS as ACQUISITIONS
from ._acquisition import acquire as acquire
from ._acquisition import check_acquisition as check_acquisition
from ._buffer import Buffer as Buffer
from ._ensemble import Ensemble as Ensemble
from ._fitted import Fitted as Fitted
from ._fitted import fitted as fitted
from ._ensemble import EnsembleState as EnsembleState
from ._gp import GP as GP
from ._gp import GPState as GPState
from ._gp import KERNELS as KERNELS
from ._gp import WARPS as WARPS
from ._gp import spd_inverse as spd_inverse
from ._ridge import Ridge as Ridge

__all__ = ["ACQUISITIONS", "Buffer", "Ensemble", "EnsembleState", "Fitted", "GP", "GPState", "KERNELS", "NAMES",
           "Ridge", "WARPS", "acquire", "check_acquisition", "fitted", "get", "spd_inverse"]

NAMES = ("ridge", "gp", "gp_rank", "pairwise", "additive", "path", "ensemble")


def get(name: str, **settings):
    """The predictor called ``name`` (:data:`NAMES`) with ``settings`` (``penalty`` for ridge; ``memory``,
    ``lengthscales``, ``noises`` for the Gaussian processes; ``memory``, ``members``, ``steps``, ... for the
    ensemble).

    Examples:
      >>> get("ridge", penalty=0.5).penalty
      0.5
    """
    try:
        if name == "ridge":
            return Ridge(**settings)
        if name == "gp_rank":
            return GP(kernel="hamming", warp="rank", **settings)
        if name in ("gp", "pairwise", "additive", "path"):
            return GP(kernel="hamming" if name == "gp" else name, **settings)
        if name == "ensemble":
            return Ensemble(**settings)
    except TypeError as e:
        raise ConfigError(f"predictor {name!r}: {e}") from None
    raise ConfigError(f"unknown predictor {name!r}; the predictors: {', '.join(NAMES)}")
