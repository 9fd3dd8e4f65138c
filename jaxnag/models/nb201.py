"""The NAS-Bench-201 network of a cell, in Flax NNX, and its exact parameter and FLOP counts.

The skeleton is NAS-Bench-201's (Dong & Yang, ICLR 2020, "TinyNetwork"): a 3x3 conv stem with
batch norm; three stages of ``cells`` cells at ``C``, ``2C`` and ``4C`` channels, joined by
residual reduction blocks (ReLU-conv3x3/2-BN, ReLU-conv3x3-BN, shortcut 2x2 average pool then
1x1 conv); batch norm, ReLU, global average pooling and a linear classifier. A cell has 4 nodes;
node ``j`` sums ``op(node i)`` over ``i < j`` on the 6 edges of :mod:`jaxnag.spaces.nb201`:
``none`` (zero), ``skip_connect``, ``nor_conv_1x1`` and ``nor_conv_3x3`` (ReLU-conv-BN) and
``avg_pool_3x3`` (stride 1, padding not counted). Images are NHWC. Weights start as PyTorch's
defaults, U(+-1/sqrt(fan_in)).

:func:`param_count` and :func:`flops` count like the NAS-Bench-201 API (every edge's op counts,
connected to the output or not; FLOPs are conv and linear multiply-adds plus the linear bias) and
reproduce the ``params_mb_*`` and ``flops_m_*`` columns of the benchmark table for every cell.

Examples:
  >>> import jax.numpy as jnp
  >>> from flax import nnx
  >>> from jaxnag.models import nb201
  >>> net = nb201.Network([3, 1, 3, 0, 2, 4], channels=4, cells=1, classes=10, rngs=nnx.Rngs(0))
  >>> nnx.jit(lambda m, x: m(x))(net, jnp.ones((2, 8, 8, 3))).shape
  (2, 10)
  >>> nb201.count(net) == nb201.param_count([3, 1, 3, 0, 2, 4], channels=4, cells=1, classes=10)
  True
  >>> nb201.param_count([3, 1, 3, 0, 2, 4]) / 1e6  # the benchmark's CIFAR-10 network (C=16, N=5)
  0.587386
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from ..errors import ConfigError, InvalidArchitecture, check_int
from ..spaces.nb201 import EDGES, OP_NAMES
from .layers import (BN, MixedNetworkBase, _head_flops, apply_population, cell_ops, conv_layer, count,
                     flop_convention, linear, masked, masked_mode, merge, pooled_logits, stacked, switch_edge, tap,
                     tapped)

__all__ = ["SIZE", "Cell", "MixedCell", "MixedNetwork", "Network", "ReLUConvBN", "ResidualReduction", "apply_population",
           "count", "flops", "init_population", "masked", "merge", "op_weight", "param_count", "tapped"]

NONE, SKIP, CONV1, CONV3, POOL = range(5)
SIZE = dict(channels=16, cells=5, classes=10)  # the benchmark network (CIFAR-10 head)

def _ops(ops) -> tuple[int, ...]:
    """Concrete ops of one cell: 6 ints, or an arch string."""
    return cell_ops(ops, "nb201", "NB201", OP_NAMES)


class ReLUConvBN(nnx.Module):
    """ReLU, a bias-free ``k x k`` convolution (stride ``stride``, padding ``k // 2``), batch norm."""

    def __init__(self, cin: int, cout: int, k: int, stride: int = 1, *, rngs: nnx.Rngs):
        self.conv = conv_layer(cin, cout, k, rngs, stride=stride)
        self.bn = nnx.BatchNorm(cout, **BN, rngs=rngs)

    def __call__(self, x, weight=1.0):
        """``weight``: the op's mask in a :class:`MixedCell` (only :func:`tapped` sees it)."""
        return self.bn(tap("conv", self.conv(jax.nn.relu(tap("relu", x, weight))), weight, self.conv))


def _avg_pool(x, size: int, pad: int):
    """``size x size`` average pooling of NHWC ``x`` (stride 1 with ``pad``, else stride ``size``);
    padded positions are not counted (PyTorch's ``count_include_pad=False``)."""
    stride = 1 if pad else size
    window, strides = (1, size, size, 1), (1, stride, stride, 1)
    padding = ((0, 0), (pad, pad), (pad, pad), (0, 0))
    total = jax.lax.reduce_window(x, 0.0, jax.lax.add, window, strides, padding)
    if not pad:
        return total / jnp.asarray(size * size, x.dtype)
    h, w = x.shape[1:3]  # positions counted per window: a static numpy constant (no XLA constant folding)
    rows = np.minimum(np.arange(h) + pad, h - 1) - np.maximum(np.arange(h) - pad, 0) + 1
    cols = np.minimum(np.arange(w) + pad, w - 1) - np.maximum(np.arange(w) - pad, 0) + 1
    counts = jnp.asarray(np.outer(rows, cols)[None, :, :, None], x.dtype)
    return total / counts


class Cell(nnx.Module):
    """One NB201 cell of ``channels`` channels for the concrete ``ops``."""

    def __init__(self, ops, channels: int, *, rngs: nnx.Rngs):
        self.ops = _ops(ops)
        self.convs = nnx.List([ReLUConvBN(channels, channels, 1 if op == CONV1 else 3, rngs=rngs)
                               if op in (CONV1, CONV3) else None for op in self.ops])

    def __call__(self, x):
        nodes = [x]
        for j in range(1, 4):
            total = None
            for slot, (src, dst) in enumerate(EDGES):
                if dst != j or self.ops[slot] == NONE:
                    continue
                op, h = self.ops[slot], nodes[src]
                y = h if op == SKIP else _avg_pool(h, 3, 1) if op == POOL else self.convs[slot](h)
                total = y if total is None else total + y
            nodes.append(jnp.zeros_like(x) if total is None else total)
        return nodes[3]


class ResidualReduction(nnx.Module):
    """NB201's residual block between stages: halves the resolution, ``cin`` -> ``cout`` channels."""

    def __init__(self, cin: int, cout: int, *, rngs: nnx.Rngs):
        self.conv_a = ReLUConvBN(cin, cout, 3, 2, rngs=rngs)
        self.conv_b = ReLUConvBN(cout, cout, 3, 1, rngs=rngs)
        self.shortcut = conv_layer(cin, cout, 1, rngs, padding="VALID")

    def __call__(self, x):
        down = _avg_pool(x, 2, 0)
        return tap("conv", self.shortcut(down), 1.0, self.shortcut) + self.conv_b(self.conv_a(x))


def _skeleton(module, make_cell, channels: int, cells: int, classes: int, in_channels: int, rngs) -> None:
    """Give ``module`` NB201's skeleton around ``make_cell(width)``: stem, three stages of ``cells`` cells
    joined by residual reductions, last batch norm, classifier."""
    for name, v in (("channels", channels), ("cells", cells), ("classes", classes), ("in_channels", in_channels)):
        check_int(name, v, lo=1)
    c = channels
    module.stem = conv_layer(in_channels, c, 3, rngs)
    module.stem_bn = nnx.BatchNorm(c, **BN, rngs=rngs)
    layers = []
    for stage, width in enumerate((c, 2 * c, 4 * c)):
        if stage:
            layers.append(ResidualReduction(width // 2, width, rngs=rngs))
        layers.extend(make_cell(width) for _ in range(cells))
    module.layers = nnx.List(layers)
    module.last_bn = nnx.BatchNorm(4 * c, **BN, rngs=rngs)
    module.classifier = linear(4 * c, classes, rngs)


def _feature_map(module, x, apply_layer):
    """The last feature map ``[batch, H/4, W/4, 4C]`` (after the last batch norm and ReLU, before global
    pooling) of a skeleton; ``apply_layer(layer, h)`` runs one layer."""
    if x.ndim != 4:
        raise ConfigError(f"images must be [batch, height, width, channels], got shape {x.shape}")
    h = module.stem_bn(tap("conv", module.stem(x), 1.0, module.stem))
    for layer in module.layers:
        h = apply_layer(layer, h)
    return jax.nn.relu(tap("relu", module.last_bn(h)))


def _logits(module, x, apply_layer):
    return pooled_logits(module, _feature_map(module, x, apply_layer))


class Network(nnx.Module):
    """The NB201 network of one cell (the same cell in every position).

    Args:
      ops: the cell: 6 ops (``spaces.get("nb201")`` encoding) or an arch string.
      channels: C, the first stage's channels (16 in the benchmark).
      cells: N, cells per stage (5 in the benchmark).
      classes: outputs of the classifier.
      in_channels: channels of the input images.

    ``net.train()`` / ``net.eval()`` switch batch norm between batch statistics and running averages.
    """

    def __init__(self, ops, *, channels: int = 16, cells: int = 5, classes: int = 10, in_channels: int = 3,
                 rngs: nnx.Rngs):
        self.ops = _ops(ops)
        _skeleton(self, lambda width: Cell(self.ops, width, rngs=rngs), channels, cells, classes, in_channels, rngs)

    def feature_map(self, x):
        """The last feature map ``[batch, H/4, W/4, 4C]`` of images ``x [batch, H, W, in_channels]``
        (before global pooling)."""
        return _feature_map(self, x, lambda layer, h: layer(h))

    def __call__(self, x):
        """Logits ``[batch, classes]``."""
        return _logits(self, x, lambda layer, h: layer(h))


class MixedCell(nnx.Module):
    """A cell holding every op on every edge; ``ops`` (a traced int ``[6]`` allowed) picks them.

    By default each edge is a ``switch`` over its five ops, so only the chosen op runs, forward and
    backward (under ``vmap`` JAX turns it into a select over all five); inside :func:`masked` every op
    runs and one-hot masks pick, which lets a :func:`tapped` function see (weighted) values of all ops.
    """

    def __init__(self, channels: int, *, rngs: nnx.Rngs):
        self.conv1 = nnx.List([ReLUConvBN(channels, channels, 1, rngs=rngs) for _ in EDGES])
        self.conv3 = nnx.List([ReLUConvBN(channels, channels, 3, rngs=rngs) for _ in EDGES])

    def __call__(self, x, ops):
        masked = masked_mode()
        masks = jax.nn.one_hot(ops, len(OP_NAMES), dtype=x.dtype)  # [6, 5]
        branches = (lambda h, c1, c3: jnp.zeros_like(h), lambda h, c1, c3: h, lambda h, c1, c3: c1(h),
                    lambda h, c1, c3: c3(h), lambda h, c1, c3: _avg_pool(h, 3, 1))
        nodes = [x]
        for j in range(1, 4):
            total = jnp.zeros_like(x)
            for slot, (src, dst) in enumerate(EDGES):
                if dst != j:
                    continue
                h, m = nodes[src], masks[slot]
                if masked:
                    total = (total + m[SKIP] * h + m[CONV1] * self.conv1[slot](h, m[CONV1])
                             + m[CONV3] * self.conv3[slot](h, m[CONV3]) + m[POOL] * _avg_pool(h, 3, 1))
                else:
                    total = total + switch_edge(ops[slot], branches, h, self.conv1[slot], self.conv3[slot],
                                                relu_weight=m[CONV1] + m[CONV3])
            nodes.append(total)
        return nodes[3]


class MixedNetwork(MixedNetworkBase):
    """The NB201 network with every op on every edge: ``net(x, ops)`` computes the network of ``ops``
    (a ``switch`` per edge, so ``ops`` may be traced), which is what lets one compiled program serve a
    population of architectures (:func:`apply_population`).

    ``net.concrete(ops)`` is the :class:`Network` of ``ops`` with the same weights (same outputs);
    ``net.feature_map(x, ops, each=None)`` the last feature map ``[batch, H/4, W/4, 4C]``.
    """

    space_name = "NB201"

    def __init__(self, *, channels: int = 16, cells: int = 5, classes: int = 10, in_channels: int = 3,
                 rngs: nnx.Rngs):
        self.size = dict(channels=channels, cells=cells, classes=classes, in_channels=in_channels)
        _skeleton(self, lambda width: MixedCell(width, rngs=rngs), channels, cells, classes, in_channels, rngs)

    _FEATURES, _LOGITS = staticmethod(_feature_map), staticmethod(_logits)

    @staticmethod
    def _run(layer, h, ops):
        return layer(h, ops) if isinstance(layer, MixedCell) else layer(h)

    _network = Network

    @staticmethod
    def _source(path, ops):
        if len(path) > 3 and path[0] == "layers" and path[2] == "convs":
            return path[:2] + ("conv1" if ops[path[3]] == CONV1 else "conv3",) + path[3:]
        return path

    @staticmethod
    def op_weight(path: tuple, ops: jax.Array):
        """:func:`op_weight`."""
        return op_weight(path, ops)


def init_population(key: jax.Array, n: int, **size):
    """``(graphdef, states)``: ``n`` independently initialised :class:`MixedNetwork` states stacked on a
    leading axis (``size``: channels, cells, classes, in_channels)."""
    return stacked(MixedNetwork, key, n, **size)


def op_weight(path: tuple, ops: jax.Array):
    """1 where the variable at ``path`` of a :class:`MixedNetwork`'s state belongs to the network of
    ``ops [6]``, 0 for a cell op the architecture does not use (a float32 scalar; ``ops`` may be traced)."""
    if len(path) > 3 and path[0] == "layers" and path[2] in ("conv1", "conv3"):
        return (ops[path[3]] == (CONV1 if path[2] == "conv1" else CONV3)).astype(jnp.float32)
    return jnp.float32(1.0)


# ----------------------------------------------------------------------------- analytic counts
def _edge_counts(ops):
    """Conv 1x1 and 3x3 edges per cell of ``ops [..., 6]`` (numpy, or jax for a jax array)."""
    xp = jnp if isinstance(ops, jax.Array) else np
    ops = ops if xp is jnp else np.asarray(ops)
    if ops.shape[-1:] != (len(EDGES),):
        raise InvalidArchitecture(f"NB201 ops have {len(EDGES)} edges, got shape {ops.shape}")
    return xp, (ops == CONV1).sum(-1), (ops == CONV3).sum(-1)


def _plain(xp, x):
    """numpy: a Python int for one cell, an int64 array for several; jax: float32 (jittable)."""
    if xp is jnp:
        return x
    x = np.asarray(x, np.int64)
    return int(x) if x.ndim == 0 else x


def param_count(ops, *, channels: int = 16, cells: int = 5, classes: int = 10, in_channels: int = 3):
    """Parameters of the network of ``ops [..., 6]``, as :func:`count` counts them: an int (one numpy
    cell), int64 ``[...]`` (numpy cells) or float32 ``[...]`` (a jax array, jittable).

    Divide by 1e6 for the table's ``params_mb_*``.
    """
    xp, n1, n3 = _edge_counts(ops)
    if xp is jnp:
        n1, n3 = n1.astype(jnp.float32), n3.astype(jnp.float32)
    c = channels
    fixed = 9 * in_channels * c + 2 * c                                 # stem conv + BN
    for cin in (c, 2 * c):                                              # the two reduction blocks
        cout = 2 * cin
        fixed += 9 * cin * cout + 2 * cout + 9 * cout * cout + 2 * cout + cin * cout
    fixed += 2 * 4 * c + 4 * c * classes + classes                      # last BN, classifier
    per_width = sum(w * w for w in (c, 2 * c, 4 * c))
    convs = cells * (n1 * (per_width + 2 * (7 * c)) + n3 * (9 * per_width + 2 * (7 * c)))
    return _plain(xp, fixed + convs)


def flops(ops, *, resolution: int = 32, channels: int = 16, cells: int = 5, classes: int = 10,
          in_channels: int = 3, convention: str = "macs"):
    """FLOPs of the network of ``ops [..., 6]`` on one ``resolution``^2 image, counted by ``convention``
    (:data:`~jaxnag.models.layers.FLOP_CONVENTIONS`). Types as :func:`param_count`.

    ``"macs"`` counts like the NAS-Bench-201 API: convolution and classifier multiply-adds (its bias included);
    divide by 1e6 for the table's ``flops_m_*`` (CIFAR: resolution 32; ImageNet16-120: 16). ``"naslib"``
    counts like NASLib's zero-cost files (``flops`` of ``naslib_zc_subsets.npz``): batch norm, ReLU, pooling
    too, the cells' batch norms with scale and shift.

    Examples:
      >>> from jaxnag.models import nb201
      >>> cell = [3, 1, 3, 0, 2, 4]
      >>> nb201.flops(cell) / 1e6, nb201.flops(cell, convention="naslib") / 1e6
      (82.49409, 85.235392)
    """
    check_int("resolution", resolution, lo=4)
    naslib = flop_convention(convention) == "naslib"
    xp, n1, n3 = _edge_counts(ops)
    npool = (xp.asarray(ops) == POOL).sum(-1)
    if xp is jnp:
        n1, n3, npool = n1.astype(jnp.float32), n3.astype(jnp.float32), npool.astype(jnp.float32)
    c, r = channels, resolution
    total = r * r * 9 * in_channels * c + (2 * r * r * c if naslib else 0)  # stem (and its BN)
    cell_flops = 0
    for stage, width in enumerate((c, 2 * c, 4 * c)):
        side = r // (2 ** stage)
        n = side * side * width  # one feature map's elements
        per_cell = n * width * (n1 + 9 * n3)
        if naslib:  # ReLU and BN (scale and shift) around each conv; 3x3 average pooling
            per_cell = per_cell + 3 * n * (n1 + n3) + 9 * n * npool
        cell_flops = cell_flops + cells * per_cell
        if stage:  # the residual reduction block into this stage
            cin, out = width // 2, side * side
            total += out * (9 * cin * width + 9 * width * width + cin * width)
            if naslib:  # ReLU of both convs, their BNs, the shortcut's 2x2 average pool
                total += 4 * out * cin + out * width + 2 * 2 * out * width + 4 * out * cin
    last = r // 4
    total += (3 * last * last * 4 * c if naslib else 0) + _head_flops(4 * c, last, classes, naslib)  # BN, ReLU, head
    return _plain(xp, total + cell_flops)
