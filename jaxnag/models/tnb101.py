"""The TransNAS-Bench-101 micro network of a cell with a classification head, in Flax NNX, and its
exact parameter count.

The skeleton is TransNAS-Bench-101's ``MacroNet`` (Duan et al., CVPR 2021) for the micro space,
``64-41414-<cell>``: a stem (3x3 conv stride 2 to ``C/2`` channels with batch norm, then
ReLU-conv3x3/2-BN to ``C``); five modules of ``cells`` cells (2 in the benchmark) following the
macro code ``41414`` (``4``: stride 2 and double the channels, ``1``: keep both); global average
pooling and a linear head (the classification tasks' ``FFDecoder``: 100 classes for class_object,
63 for class_scene). A cell has 4 nodes; node ``j`` sums ``op(node i)`` over ``i < j`` on the 6 edges
of :mod:`jaxnag.spaces.tnb101` (``none``, ``skip_connect``, ``conv_1x1``, ``conv_3x3``); the cell's
output is node 3, with no residual around the cell. Edges out of node 0 change the channels and the
stride of their cell: ``skip_connect`` is then a factorized reduction (ReLU, two 1x1 convs, one on
the input shifted by a pixel, concatenated, batch norm) and ``none`` a zero tensor of the output's
shape. Convolutions start as the benchmark's (Kaiming normal, fan out), the head as PyTorch's default.

:func:`param_count` counts like the benchmark (and NASLib's ``params``, which it reproduces for every
architecture of NASLib's TransNAS-Bench-101 micro sets, see the tests); :func:`flops` counts
convolution and head multiply-adds, or with ``convention="naslib"`` batch norm, ReLU and pooling too, as
NASLib's ``flops`` do (reproduced for every cell of its classification-head sets).

Examples:
  >>> import jax.numpy as jnp
  >>> from flax import nnx
  >>> from jaxnag.models import tnb101
  >>> net = tnb101.Network("64-41414-3_01_123", channels=8, cells=1, classes=5, rngs=nnx.Rngs(0))
  >>> nnx.jit(lambda m, x: m(x))(net, jnp.ones((2, 32, 32, 3))).shape
  (2, 5)
  >>> tnb101.count(net) == tnb101.param_count([3, 0, 1, 1, 2, 3], channels=8, cells=1, classes=5)
  True
  >>> tnb101.param_count([1, 0, 0, 2, 1, 0], classes=100) / 1e6  # the benchmark's class_object network
  0.929668
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from ..errors import ConfigError, InvalidArchitecture, check_int
from ..spaces.nb201 import EDGES
from ..spaces.tnb101 import OP_NAMES
from .layers import (BN, MixedNetworkBase, _head_flops, apply_population, cell_ops, conv_layer, count,
                     flop_convention, linear, masked, masked_mode, merge, pooled_logits, stacked, switch_edge, tap,
                     tapped, variance_scaling)

__all__ = ["SIZE", "MACRO", "Cell", "FactorizedReduce", "MixedCell", "MixedNetwork", "Network", "ReLUConvBN",
           "apply_population", "count", "flops", "init_population", "masked", "merge", "op_weight", "param_count",
           "tapped"]

NONE, SKIP, CONV1, CONV3 = range(4)
SIZE = dict(channels=64, cells=2, classes=100)  # the benchmark network (class_object head)
MACRO = "41414"  # the micro space's fixed macro skeleton
_KAIMING = variance_scaling(2.0, "fan_out", "normal")  # PyTorch kaiming_normal_(fan_out, relu)


def _ops(ops) -> tuple[int, ...]:
    """Concrete ops of one cell: 6 ints, or an arch string."""
    return cell_ops(ops, "tnb101_micro", "TransNAS-Bench-101 micro", OP_NAMES)


def _conv(cin: int, cout: int, k: int, stride: int, rngs) -> nnx.Conv:
    return conv_layer(cin, cout, k, rngs, stride=stride, init=_KAIMING)


class ReLUConvBN(nnx.Module):
    """ReLU, a bias-free ``k x k`` convolution (stride ``stride``, padding ``k // 2``), batch norm."""

    def __init__(self, cin: int, cout: int, k: int, stride: int = 1, *, rngs: nnx.Rngs):
        self.conv = _conv(cin, cout, k, stride, rngs)
        self.bn = nnx.BatchNorm(cout, **BN, rngs=rngs)

    def __call__(self, x, weight=1.0):
        return self.bn(tap("conv", self.conv(jax.nn.relu(tap("relu", x, weight))), weight, self.conv))


class FactorizedReduce(nnx.Module):
    """``skip_connect`` where the channels or the stride change: ReLU, then two bias-free 1x1 convs of
    stride ``stride`` (to ``cout // 2`` and the rest), the second on the input shifted one pixel up
    and left (zero padded), concatenated, batch norm."""

    def __init__(self, cin: int, cout: int, stride: int, *, rngs: nnx.Rngs):
        if cout % 2:
            raise ConfigError(f"a factorized reduction needs an even number of output channels, got {cout}")
        self.stride = stride
        self.convs = nnx.List([_conv(cin, cout // 2, 1, stride, rngs), _conv(cin, cout - cout // 2, 1, stride, rngs)])
        self.bn = nnx.BatchNorm(cout, **BN, rngs=rngs)

    def __call__(self, x, weight=1.0):
        x = jax.nn.relu(tap("relu", x, weight))
        shifted = jnp.pad(x, ((0, 0), (0, 1), (0, 1), (0, 0)))[:, 1:, 1:, :]
        a, b = self.convs[0], self.convs[1]
        return self.bn(jnp.concatenate([tap("conv", a(x), weight, a), tap("conv", b(shifted), weight, b)], axis=-1))


def _zeros(x, cout: int, stride: int):
    """``none``: zeros of the edge's output shape (``ceil(H / stride)``, ``cout`` channels)."""
    b, h, w, _ = x.shape
    return jnp.zeros((b, -(-h // stride), -(-w // stride), cout), x.dtype)


def _edge_shape(slot: int, cin: int, cout: int, stride: int) -> tuple[int, int]:
    """``(in channels, stride)`` of edge ``slot``: edges out of node 0 change channels and stride."""
    return (cin, stride) if EDGES[slot][0] == 0 else (cout, 1)


def _is_identity(cin: int, cout: int, stride: int) -> bool:
    return cin == cout and stride == 1


def _cell(x, stride: int, edge):
    """A micro cell's output, node 3: node ``j`` sums ``edge(slot, node i, edge stride)`` over its edges
    ``i -> j`` (edges out of node 0 take the cell's stride)."""
    nodes = [x]
    for j in range(1, 4):
        total = None
        for slot, (src, dst) in enumerate(EDGES):
            if dst == j:
                y = edge(slot, nodes[src], stride if src == 0 else 1)
                total = y if total is None else total + y
        nodes.append(total)
    return nodes[3]


class Cell(nnx.Module):
    """One micro cell for the concrete ``ops``: ``cin`` -> ``cout`` channels, stride ``stride``."""

    def __init__(self, ops, cin: int, cout: int, stride: int, *, rngs: nnx.Rngs):
        self.ops, self.cout, self.stride = _ops(ops), cout, stride
        edges = []
        for slot, op in enumerate(self.ops):
            c, s = _edge_shape(slot, cin, cout, stride)
            edges.append(ReLUConvBN(c, cout, 1 if op == CONV1 else 3, s, rngs=rngs) if op in (CONV1, CONV3)
                         else FactorizedReduce(c, cout, s, rngs=rngs) if op == SKIP and not _is_identity(c, cout, s)
                         else None)
        self.edges = nnx.List(edges)

    def __call__(self, x):
        def edge(slot, h, s):
            op = self.ops[slot]
            return _zeros(h, self.cout, s) if op == NONE else h if self.edges[slot] is None else self.edges[slot](h)
        return _cell(x, self.stride, edge)


class MixedCell(nnx.Module):
    """A micro cell holding every op on every edge; ``ops`` (a traced int ``[6]`` allowed) picks them by
    a ``switch`` per edge (inside :func:`~jaxnag.models.layers.masked`, one-hot masks over all ops)."""

    def __init__(self, cin: int, cout: int, stride: int, *, rngs: nnx.Rngs):
        self.cout, self.stride = cout, stride
        conv1, conv3, reduce = [], [], []
        for slot in range(len(EDGES)):
            c, s = _edge_shape(slot, cin, cout, stride)
            conv1.append(ReLUConvBN(c, cout, 1, s, rngs=rngs))
            conv3.append(ReLUConvBN(c, cout, 3, s, rngs=rngs))
            reduce.append(None if _is_identity(c, cout, s) else FactorizedReduce(c, cout, s, rngs=rngs))
        self.conv1, self.conv3, self.reduce = nnx.List(conv1), nnx.List(conv3), nnx.List(reduce)

    def __call__(self, x, ops):
        masks = jax.nn.one_hot(ops, len(OP_NAMES), dtype=x.dtype)  # [6, 4]

        def edge(slot, h, s):
            m, red, c1, c3 = masks[slot], self.reduce[slot], self.conv1[slot], self.conv3[slot]
            if masked_mode():
                skip = h if red is None else red(h, m[SKIP])
                return m[SKIP] * skip + m[CONV1] * c1(h, m[CONV1]) + m[CONV3] * c3(h, m[CONV3])
            zeros = _zeros(h, self.cout, s)
            skip = (lambda h, r, a, b: h) if red is None else (lambda h, r, a, b: r(h))
            relu = m[CONV1] + m[CONV3] + (0.0 if red is None else m[SKIP])  # a factorized reduction starts with one
            return switch_edge(ops[slot], (lambda h, r, a, b: zeros, skip, lambda h, r, a, b: a(h),
                                           lambda h, r, a, b: b(h)), h, red, c1, c3, relu_weight=relu)
        return _cell(x, self.stride, edge)


def _skeleton(module, make_cell, channels: int, cells: int, classes: int, in_channels: int, rngs) -> None:
    """Give ``module`` the MacroNet skeleton around ``make_cell(cin, cout, stride)``."""
    for name, v in (("channels", channels), ("cells", cells), ("classes", classes), ("in_channels", in_channels)):
        check_int(name, v, lo=1)
    if channels % 2:
        raise ConfigError(f"channels must be even (the stem halves them), got {channels}")
    module.stem = _conv(in_channels, channels // 2, 3, 2, rngs)
    module.stem_bn = nnx.BatchNorm(channels // 2, **BN, rngs=rngs)
    module.stem_conv = ReLUConvBN(channels // 2, channels, 3, 2, rngs=rngs)
    layers, c = [], channels
    for code in MACRO:
        cout, stride = (2 * c if int(code) % 2 == 0 else c), (2 if int(code) > 2 else 1)
        layers.append(make_cell(c, cout, stride))
        layers.extend(make_cell(cout, cout, 1) for _ in range(cells - 1))
        c = cout
    module.layers = nnx.List(layers)
    module.classifier = linear(c, classes, rngs)


def _feature_map(module, x, apply_layer):
    if x.ndim != 4:
        raise ConfigError(f"images must be [batch, height, width, channels], got shape {x.shape}")
    h = module.stem_conv(module.stem_bn(tap("conv", module.stem(x), 1.0, module.stem)))
    for layer in module.layers:
        h = apply_layer(layer, h)
    return h


def _logits(module, x, apply_layer):
    return pooled_logits(module, _feature_map(module, x, apply_layer))


class Network(nnx.Module):
    """The TransNAS-Bench-101 micro network of one cell with a classification head.

    Args:
      ops: the cell: 6 ops (``spaces.get("tnb101_micro")`` encoding) or an arch string.
      channels: C, the stem's output channels (64 in the benchmark).
      cells: cells per module (2 in the benchmark).
      classes: outputs of the head (class_object 100, class_scene 63).
      in_channels: channels of the input images.
    """

    def __init__(self, ops, *, channels: int = 64, cells: int = 2, classes: int = 100, in_channels: int = 3,
                 rngs: nnx.Rngs):
        self.ops = _ops(ops)
        _skeleton(self, lambda cin, cout, stride: Cell(self.ops, cin, cout, stride, rngs=rngs), channels, cells,
                  classes, in_channels, rngs)

    def feature_map(self, x):
        """The last feature map ``[batch, H/32, W/32, 8C]`` (before global pooling)."""
        return _feature_map(self, x, lambda layer, h: layer(h))

    def __call__(self, x):
        """Logits ``[batch, classes]``."""
        return _logits(self, x, lambda layer, h: layer(h))


class MixedNetwork(MixedNetworkBase):
    """The micro network with every op on every edge: ``net(x, ops)`` computes the network of ``ops``
    (``ops`` may be traced), so one compiled program serves a population; ``net.concrete(ops)`` is the
    :class:`Network` of ``ops`` with the same weights; ``net.feature_map(x, ops, each=None)`` the last
    feature map."""

    space_name = "TransNAS-Bench-101 micro"

    def __init__(self, *, channels: int = 64, cells: int = 2, classes: int = 100, in_channels: int = 3,
                 rngs: nnx.Rngs):
        self.size = dict(channels=channels, cells=cells, classes=classes, in_channels=in_channels)
        _skeleton(self, lambda cin, cout, stride: MixedCell(cin, cout, stride, rngs=rngs), channels, cells, classes,
                  in_channels, rngs)

    _FEATURES, _LOGITS = staticmethod(_feature_map), staticmethod(_logits)

    @staticmethod
    def _run(layer, h, ops):
        return layer(h, ops)

    _network = Network

    @staticmethod
    def _source(path, ops):
        if len(path) > 3 and path[0] == "layers" and path[2] == "edges":
            return path[:2] + ({CONV1: "conv1", CONV3: "conv3", SKIP: "reduce"}[ops[path[3]]],) + path[3:]
        return path

    @staticmethod
    def op_weight(path: tuple, ops: jax.Array):
        """:func:`op_weight`."""
        return op_weight(path, ops)


def op_weight(path: tuple, ops: jax.Array):
    """1 where the variable at ``path`` of a :class:`MixedNetwork`'s state belongs to the network of
    ``ops [6]``, 0 for a cell op the architecture does not use (float32; ``ops`` may be traced)."""
    if len(path) > 3 and path[0] == "layers" and path[2] in ("conv1", "conv3", "reduce"):
        return (ops[path[3]] == {"conv1": CONV1, "conv3": CONV3, "reduce": SKIP}[path[2]]).astype(jnp.float32)
    return jnp.float32(1.0)


def init_population(key: jax.Array, n: int, **size):
    """``(graphdef, states)``: ``n`` independently initialised :class:`MixedNetwork` states stacked on a
    leading axis (``size``: channels, cells, classes, in_channels)."""
    return stacked(MixedNetwork, key, n, **size)


# ----------------------------------------------------------------------------- analytic counts
def _modules(channels: int, cells: int):
    """``(cin, cout, stride)`` of every cell, in order."""
    out, c = [], channels
    for code in MACRO:
        cout, stride = (2 * c if int(code) % 2 == 0 else c), (2 if int(code) > 2 else 1)
        out.append((c, cout, stride))
        out.extend((cout, cout, 1) for _ in range(cells - 1))
        c = cout
    return out, c


def _per_op(ops):
    xp = jnp if isinstance(ops, jax.Array) else np
    ops = ops if xp is jnp else np.asarray(ops)
    if ops.shape[-1:] != (len(EDGES),):
        raise InvalidArchitecture(f"TransNAS-Bench-101 micro ops have {len(EDGES)} edges, got shape {ops.shape}")
    f = (lambda a: a.astype(jnp.float32)) if xp is jnp else (lambda a: a.astype(np.int64))
    return xp, [tuple(f(ops[..., slot] == o) for o in (SKIP, CONV1, CONV3)) for slot in range(len(EDGES))]


def _plain(xp, x):
    if xp is jnp:
        return x
    x = np.asarray(x, np.int64)
    return int(x) if x.ndim == 0 else x


def param_count(ops, *, channels: int = 64, cells: int = 2, classes: int = 100, in_channels: int = 3):
    """Parameters of the network of ``ops [..., 6]`` as :func:`count` counts them: an int (one numpy
    cell), int64 ``[...]`` (numpy cells) or float32 ``[...]`` (a jax array, jittable). Divide by 1e6 for
    NASLib's ``params``."""
    xp, edge = _per_op(ops)
    c = channels
    total = 9 * in_channels * (c // 2) + 2 * (c // 2) + 9 * (c // 2) * c + 2 * c  # stem
    cells_, last = _modules(channels, cells)
    for cin, cout, stride in cells_:
        for slot, (skip, n1, n3) in enumerate(edge):
            ci, s = _edge_shape(slot, cin, cout, stride)
            bn = 2 * cout
            total = total + n1 * (ci * cout + bn) + n3 * (9 * ci * cout + bn)
            if not _is_identity(ci, cout, s):
                total = total + skip * (ci * cout + bn)
    total = total + last * classes + classes
    return _plain(xp, total)


def flops(ops, *, resolution: int = 256, channels: int = 64, cells: int = 2, classes: int = 100,
          in_channels: int = 3, convention: str = "macs"):
    """FLOPs of the network of ``ops [..., 6]`` on one ``resolution``^2 image, counted by ``convention``
    (:data:`~jaxnag.models.layers.FLOP_CONVENTIONS`). Types as :func:`param_count`.

    ``"macs"``: convolution and head multiply-adds (its bias included). ``"naslib"``: as NASLib's zero-cost files
    count (``flops`` of ``naslib_zc_subsets.npz``, the classification-head tasks): batch norm, ReLU and the global
    pooling too.

    Examples:
      >>> from jaxnag.models import tnb101
      >>> cell = [1, 0, 0, 2, 1, 0]
      >>> tnb101.flops(cell) / 1e6, tnb101.flops(cell, convention="naslib") / 1e6  # class_object's network
      (257.476708, 263.318016)
    """
    check_int("resolution", resolution, lo=1)
    naslib = flop_convention(convention) == "naslib"
    xp, edge = _per_op(ops)
    c, r = channels, resolution
    half = -(-r // 2)
    total = half * half * (9 * in_channels * (c // 2) + (2 * (c // 2) if naslib else 0))  # conv, BN
    r = -(-half // 2)
    total += r * r * 9 * (c // 2) * c + ((c // 2) * half * half + 2 * c * r * r if naslib else 0)  # ReLU, conv, BN
    cells_, last = _modules(channels, cells)
    for cin, cout, stride in cells_:
        out = -(-r // stride)
        for slot, (skip, n1, n3) in enumerate(edge):
            ci, s = _edge_shape(slot, cin, cout, stride)
            side_in = r if EDGES[slot][0] == 0 else out
            convs = n1 + n3 if naslib else 0  # the ReLU before and the BN after each conv
            macs = out * out * (n1 * ci * cout + n3 * 9 * ci * cout)
            total = total + macs + convs * (ci * side_in * side_in + 2 * cout * out * out)
            if not _is_identity(ci, cout, s):  # a factorized reduction: ReLU, two 1x1 convs, BN
                total = total + skip * (out * out * ci * cout
                                        + ((ci * side_in * side_in + 2 * cout * out * out) if naslib else 0))
        r = out
    return _plain(xp, total + _head_flops(last, r, classes, naslib))
