"""The NAS-Bench-101 network of a cell, in Flax NNX, and its parameter count.

The skeleton is NAS-Bench-101's (Ying et al. 2019, ``model_builder.py``): a 3x3 conv-BN-ReLU stem of
``channels`` (128); ``stacks`` (3) stacks of ``cells`` (3) cells, the channels doubled and the resolution halved
(2x2 max pooling) before every stack but the first; global average pooling and a linear classifier. A cell is
the pruned spec of :mod:`jaxnag.spaces.nb101`: node ``t`` sums the outputs of its intermediate predecessors
(truncated to its channels) and a 1x1 conv-BN-ReLU projection of the cell input where the input feeds it, then
applies its op (3x3 or 1x1 conv-BN-ReLU, or 3x3 max pooling at stride 1); the output concatenates the
intermediate nodes that feed it, plus a projection of the input where the input feeds the output. The nodes'
channels follow NB101's ``compute_vertex_channels``. Convolutions have no bias; images are NHWC.

:func:`param_count` counts the trainable parameters (batch norm's scale and shift included, as NB101's
``trainable_parameters`` and NASLib's ``params`` do); :func:`flops` counts multiply-adds, or as NASLib does.

Examples:
  >>> import jax.numpy as jnp
  >>> from flax import nnx
  >>> from jaxnag import spaces
  >>> from jaxnag.models import nb101
  >>> ops = spaces.get("nb101").from_string(
  ...     "0110001|0001000|0001000|0000001|0000000|0000000|0000000"
  ...     "|conv3x3-bn-relu|maxpool3x3|conv1x1-bn-relu|conv3x3-bn-relu|conv3x3-bn-relu")
  >>> net = nb101.Network(ops, channels=8, stacks=2, cells=1, rngs=nnx.Rngs(0))
  >>> nnx.jit(lambda m, x: m(x))(net, jnp.ones((2, 8, 8, 3))).shape
  (2, 10)
  >>> nb101.param_count(ops) / 1e6  # NB101's CIFAR-10 network (128 channels, 3 x 3 cells)
  12.962698
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from ..errors import ConfigError, check_int
from ..spaces.nb101 import OP_NAMES, spec
from .layers import BN, INIT, conv_layer, count, flop_convention, linear, pooled_logits, tap, variance_scaling

__all__ = ["INITS", "SIZE", "Cell", "ConvBNReLU", "Network", "count", "flops", "param_count", "vertex_channels"]

SIZE = dict(channels=128, stacks=3, cells=3, classes=10)  # the benchmark network (CIFAR-10)
_CONV3, _CONV1, _POOL = OP_NAMES


INITS = {"pytorch": INIT,  # PyTorch's default, U(+-1/sqrt(fan_in)), as the other networks here
         "kaiming_out": variance_scaling(2.0, "fan_out", "normal")}  # nasbench_pytorch's, NASLib's


class ConvBNReLU(nnx.Module):
    """A bias-free ``k x k`` convolution (padding ``k // 2``), batch norm, ReLU: ``[B, H, W, cin]`` ->
    ``[B, H, W, cout]``.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from flax import nnx
      >>> from jaxnag.models import nb101
      >>> layer = nnx.eval_shape(lambda: nb101.ConvBNReLU(3, 4, 3, rngs=nnx.Rngs(0)))  # shapes only
      >>> layer.conv.kernel.shape, nb101.count(layer)  # 3*3*3*4 weights, BN's scale and shift
      ((3, 3, 3, 4), 116)
      >>> jax.eval_shape(lambda x: nb101.ConvBNReLU(3, 4, 3, rngs=nnx.Rngs(0))(x), jnp.ones((2, 8, 8, 3))).shape
      (2, 8, 8, 4)
    """

    def __init__(self, cin: int, cout: int, k: int, *, init=INIT, rngs: nnx.Rngs):
        self.conv = conv_layer(cin, cout, k, rngs, init=init)
        self.bn = nnx.BatchNorm(cout, **BN, rngs=rngs)

    def __call__(self, x):
        return tap("relu", jax.nn.relu(self.bn(tap("conv", self.conv(x), 1.0, self.conv))))


def vertex_channels(matrix: np.ndarray, cin: int, cout: int) -> list[int]:
    """NB101's channels of each node of a pruned cell ``matrix [V, V]``: the output's ``cout`` split evenly
    (the remainder to the first nodes) among the nodes that feed it; a node that does not feed the output
    takes the largest of its successors'.

    Examples:
      >>> import numpy as np
      >>> m = np.zeros((4, 4), int); m[0, 1] = m[0, 2] = m[1, 3] = m[2, 3] = 1
      >>> vertex_channels(m, 64, 129)  # 129 split between the two nodes feeding the output
      [64, 65, 64, 129]
    """
    v = len(matrix)
    ch = [0] * v
    ch[0], ch[-1] = cin, cout
    if v == 2:
        return ch
    fan = int(matrix[1:, -1].sum())
    share, extra = divmod(cout, fan)
    for t in range(1, v - 1):
        if matrix[t, -1]:
            ch[t] = share + (1 if extra > 0 else 0)
            extra -= 1 if extra > 0 else 0
    for t in range(v - 2, 0, -1):
        if not matrix[t, -1]:
            ch[t] = max([ch[d] for d in range(t + 1, v - 1) if matrix[t, d]] + [ch[t]])
    return ch


def _max_pool(x, size: int, stride: int):
    pad = ((0, 0), (size // 2, size // 2), (size // 2, size // 2), (0, 0)) if stride == 1 else \
        ((0, 0), (0, x.shape[1] % 2), (0, x.shape[2] % 2), (0, 0))  # TF's 'same' at stride 2
    return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, size, size, 1), (1, stride, stride, 1), pad)


class Cell(nnx.Module):
    """One NB101 cell: the pruned ``(matrix, ops)`` of :func:`jaxnag.spaces.nb101.spec`, ``cin`` -> ``cout``
    (``[B, H, W, cin]`` -> ``[B, H, W, cout]``).

    Examples:
      >>> import jax, jax.numpy as jnp, numpy as np
      >>> from flax import nnx
      >>> from jaxnag.models import nb101
      >>> m = np.zeros((4, 4), int); m[0, 1] = m[0, 2] = m[1, 3] = m[2, 3] = 1  # two parallel nodes
      >>> names = ["input", "conv3x3-bn-relu", "maxpool3x3", "output"]
      >>> cell = nnx.eval_shape(lambda: nb101.Cell(m, names, 8, 16, rngs=nnx.Rngs(0)))  # shapes only
      >>> cell.channels  # the output's 16 channels split between the two nodes that feed it
      (8, 8, 8, 16)
      >>> jax.eval_shape(lambda x: nb101.Cell(m, names, 8, 16, rngs=nnx.Rngs(0))(x), jnp.ones((2, 4, 4, 8))).shape
      (2, 4, 4, 16)
    """

    def __init__(self, matrix, ops, cin: int, cout: int, *, init=INIT, rngs: nnx.Rngs):
        matrix = np.asarray(matrix, np.int8)
        self.matrix = tuple(tuple(int(a) for a in row) for row in matrix)  # static (not an array leaf)
        self.names = tuple(ops)
        v = len(matrix)
        self.channels = tuple(vertex_channels(matrix, cin, cout))
        self.proj = nnx.List([ConvBNReLU(cin, self.channels[t], 1, init=init, rngs=rngs) if matrix[0, t] else None
                              for t in range(v)])
        self.ops = nnx.List([ConvBNReLU(self.channels[t], self.channels[t], 3 if name == _CONV3 else 1, init=init,
                                        rngs=rngs)
                             if name in (_CONV3, _CONV1) else None for t, name in enumerate(self.names)])

    def __call__(self, x):
        m, v = np.asarray(self.matrix), len(self.matrix)
        nodes = [x]
        for t in range(1, v - 1):
            fan = [nodes[s][..., :self.channels[t]] for s in range(1, t) if m[s, t]]
            if m[0, t]:
                fan.append(self.proj[t](x))
            h = sum(fan[1:], fan[0])
            nodes.append(_max_pool(h, 3, 1) if self.names[t] == _POOL else self.ops[t](h))
        concat = [nodes[s] for s in range(1, v - 1) if m[s, -1]]
        out = jnp.concatenate(concat, axis=-1) if concat else None
        if m[0, -1]:
            out = self.proj[-1](x) if out is None else out + self.proj[-1](x)
        return out


class Network(nnx.Module):
    """The NB101 network of one cell (the same cell in every position).

    Args:
      ops: the cell: an encoding ``[26]`` of ``spaces.get("nb101")`` or its arch string.
      channels: the stem's channels (128 in the benchmark), doubled at every stack after the first.
      stacks, cells: stacks, and cells per stack (3 and 3 in the benchmark).
      classes: outputs of the classifier.
      in_channels: channels of the input images.
      init: the convolutions' initialisation, ``"pytorch"`` (PyTorch's default, as every network here) or
        ``"kaiming_out"`` (He normal over fan-out, as the PyTorch NB101 network NASLib scores proxies with:
        its ``l2_norm`` values are reproduced so, docs/proxies_graph.md).

    Examples:
      >>> import jax, jax.numpy as jnp, numpy as np
      >>> from flax import nnx
      >>> from jaxnag.spaces import nb101 as space101
      >>> from jaxnag.models import nb101
      >>> ops = space101.from_spec(np.eye(3, k=1, dtype=int), ["input", "conv3x3-bn-relu", "output"])
      >>> net = lambda: nb101.Network(ops, channels=4, stacks=2, cells=1, classes=5, rngs=nnx.Rngs(0))
      >>> jax.eval_shape(lambda x: net()(x), jnp.ones((2, 8, 8, 3))).shape  # logits, shapes only
      (2, 5)
      >>> nb101.count(nnx.eval_shape(net)) == nb101.param_count(ops, channels=4, stacks=2, cells=1, classes=5)
      True
    """

    def __init__(self, ops, *, channels: int = 128, stacks: int = 3, cells: int = 3, classes: int = 10,
                 in_channels: int = 3, init: str = "pytorch", rngs: nnx.Rngs):
        for name, value in (("channels", channels), ("stacks", stacks), ("cells", cells), ("classes", classes),
                            ("in_channels", in_channels)):
            check_int(name, value, lo=1)
        if init not in INITS:
            raise ConfigError(f"init must be one of {', '.join(INITS)}, got {init!r}")
        init = INITS[init]
        matrix, names = spec(ops)
        self.stem = ConvBNReLU(in_channels, channels, 3, init=init, rngs=rngs)
        layers, c = [], channels
        for stack in range(stacks):
            cin = c
            if stack:
                c *= 2
            for _ in range(cells):
                layers.append(Cell(matrix, names, cin, c, init=init, rngs=rngs))
                cin = c
        self.stack_starts = tuple(range(cells, stacks * cells, cells))
        self.layers = nnx.List(layers)
        self.classifier = linear(c, classes, rngs)

    def feature_map(self, x, ops=None, each=None):
        """The last cell's output ``[batch, H / 2^(stacks-1), W / 2^(stacks-1), channels * 2^(stacks-1)]``.
        ``each(layer, h)`` runs one layer (default ``layer(h)``); ``ops`` is ignored (the cell is built in), as
        in :meth:`__call__`: the zero-cost measures call every network as ``net(x, ops)``."""
        if x.ndim != 4:
            raise ConfigError(f"images must be [batch, height, width, channels], got shape {x.shape}")
        each = each or (lambda layer, h: layer(h))
        h = each(self.stem, x)
        for i, layer in enumerate(self.layers):
            if i in self.stack_starts:
                h = _max_pool(h, 2, 2)
            h = each(layer, h)
        return h

    def __call__(self, x, ops=None):
        """Logits ``[batch, classes]``."""
        return pooled_logits(self, self.feature_map(x))

    @staticmethod
    def op_weight(path, ops):
        """1: every variable belongs to the network (the zero-cost measures' interface of a mixed network)."""
        return jnp.float32(1.0)


def param_count(ops, **size) -> int:
    """Trainable parameters of :class:`Network` of ``ops`` (an encoding or arch string; ``size``: channels, stacks,
    cells, classes,
    in_channels; default the benchmark's), counted from the cell without building the network (equal to
    ``count(Network(ops, **size))``: the tests check it).

    Examples:
      >>> from flax import nnx
      >>> from jaxnag import spaces
      >>> from jaxnag.models import nb101
      >>> ops = spaces.get("nb101").from_string(
      ...     "0110001|0001000|0001000|0000001|0000000|0000000|0000000"
      ...     "|conv3x3-bn-relu|maxpool3x3|conv1x1-bn-relu|conv3x3-bn-relu|conv3x3-bn-relu")
      >>> size = dict(channels=8, stacks=2, cells=1)
      >>> net = nnx.eval_shape(lambda: nb101.Network(ops, **size, rngs=nnx.Rngs(0)))  # shapes only
      >>> nb101.param_count(ops, **size), nb101.count(net)
      (4418, 4418)
    """
    size = {**SIZE, "in_channels": 3, **size}
    matrix, names = spec(ops)
    c = size["channels"]
    total = 9 * size["in_channels"] * c + 2 * c  # stem
    for stack in range(size["stacks"]):
        cin = c
        c = c * 2 if stack else c
        for _ in range(size["cells"]):
            ch = vertex_channels(matrix, cin, c)
            for t in range(1, len(matrix)):
                if matrix[0, t]:
                    total += cin * ch[t] + 2 * ch[t]
                if names[t] in (_CONV3, _CONV1):
                    total += (9 if names[t] == _CONV3 else 1) * ch[t] * ch[t] + 2 * ch[t]
            cin = c
    return total + c * size["classes"] + size["classes"]


def flops(ops, *, resolution: int = 32, convention: str = "macs", **size) -> int:
    """FLOPs of :class:`Network` of ``ops`` on one ``resolution``^2 image (``size`` as :func:`param_count`), counted
    by ``convention`` (:data:`~jaxnag.models.layers.FLOP_CONVENTIONS`) from the pruned cell without building the
    network.

    ``"macs"``: convolution and classifier multiply-adds (its bias included). ``"naslib"``: as NASLib's zero-cost
    files count (``flops`` of ``naslib_zc_subsets.npz``: all 500 NB101 cells, checked by
    ``benchmarks/graph_params.py``): batch norm, ReLU and max pooling too; the global average is not counted
    (NB101's network takes a mean, not a pooling layer).

    Examples:
      >>> from jaxnag import spaces
      >>> from jaxnag.models import nb101
      >>> ops = spaces.get("nb101").from_string(
      ...     "0110001|0001000|0001000|0000001|0000000|0000000|0000000"
      ...     "|conv3x3-bn-relu|maxpool3x3|conv1x1-bn-relu|conv3x3-bn-relu|conv3x3-bn-relu")
      >>> nb101.flops(ops) / 1e6, nb101.flops(ops, convention="naslib") / 1e6
      (1916.146698, 1933.251584)
    """
    size = {**SIZE, "in_channels": 3, **size}
    check_int("resolution", resolution, lo=1)
    naslib = flop_convention(convention) == "naslib"
    matrix, names = spec(ops)
    c, side = size["channels"], resolution
    bn_relu = 3 if naslib else 0  # per output element of a conv-BN-ReLU: BN with scale and shift, then ReLU
    total = side * side * (9 * size["in_channels"] * c + bn_relu * c)  # stem
    for stack in range(size["stacks"]):
        cin = c
        if stack:  # 2x2 max pooling at stride 2 (TF's 'same' padding), then twice the channels
            side = -(-side // 2)
            total += 4 * cin * side * side if naslib else 0
            c *= 2
        area = side * side
        for _ in range(size["cells"]):
            ch = vertex_channels(matrix, cin, c)
            for t in range(1, len(matrix)):
                if matrix[0, t]:  # the input's 1x1 projection into node t (or the output)
                    total += area * (cin * ch[t] + bn_relu * ch[t])
                if names[t] in (_CONV3, _CONV1):
                    total += area * ((9 if names[t] == _CONV3 else 1) * ch[t] * ch[t] + bn_relu * ch[t])
                elif names[t] == _POOL and naslib:
                    total += 9 * area * ch[t]
            cin = c
    return int(total + c * size["classes"] + (0 if naslib else size["classes"]))
