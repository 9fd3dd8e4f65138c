"""The search-space data type: categorical slots x choices plus the cell graph.

An architecture is an int vector ``ops`` of shape ``[R]`` (one choice per slot).
Everything here that takes ``ops`` accepts any leading batch shape ``[..., R]``
and, unless it says otherwise, is a pure ``jax.numpy`` function that works under
``jit`` and ``vmap``. String conversion and validation with error messages are
host-side (numpy) helpers.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import ConfigError, InvalidArchitecture, check_int


def _argmax(x: jax.Array) -> jax.Array:
    """``jnp.argmax(x, axis=-1)`` as int32, the same indices (first of equal maxima, NaN above every number),
    by comparisons column by column where the rows are short: about 2x faster than XLA's CPU argmax (a variadic
    reduction) for 5 choices (``benchmarks/ednag_parts_speed.py``)."""
    if x.shape[-1] > 16:
        return jnp.argmax(x, axis=-1).astype(jnp.int32)
    best, idx = x[..., 0], jnp.zeros(x.shape[:-1], jnp.int32)
    for c in range(1, x.shape[-1]):
        xc = x[..., c]
        better = (xc > best) | (jnp.isnan(xc) & ~jnp.isnan(best))
        best, idx = jnp.where(better, xc, best), jnp.where(better, jnp.int32(c), idx)
    return idx


@dataclasses.dataclass(frozen=True, eq=False)
class SearchSpace:
    """A categorical search space: ``R`` slots, each with its own list of choices.

    Attributes:
      name: registry name (``"nb201"``, ``"tnb101_micro"``, ``"nasbench_graph"``).
      slot_names: one name per slot (``"0->1"`` for an NB201 edge).
      choices: per slot, the names of its choices (the benchmark's op names).
      num_nodes: nodes of the cell graph (input node included).
      edges: for spaces whose slots are the edges of a fixed cell DAG, the
        ``(src, dst)`` node pair of each slot; ``None`` otherwise.
      description: one line for ``jaxnag spaces``.
      benchmark_dedups_isomorphs: the benchmark stores one entry per isomorphism class
        (NAS-Bench-Graph), so isomorphic encodings are one query (see :meth:`query_id`).
      remove: per slot, the choice that removes the slot's component (NB201's ``none``: the edge is
        absent), or -1 where no choice does. Declared, never guessed from op names: it defines
        :meth:`connected` and PG-NAG's Shapley players.
      identity: per slot, the choice that passes its input on unchanged (``skip_connect``), or -1.
        A slot without a removing choice uses it as its Shapley reference (:meth:`reference`).
      baseline: per slot, the choice a slot with neither is scored against (NB101's node ops: ``maxpool3x3``,
        the op without weights), or -1: only PG-NAG's Shapley reference, nothing else reads it.

    A space whose valid encodings are rare among all slot combinations (DARTS: exactly two inputs per node)
    gives its own uniform sampler (``_random(key, shape)``) and its own decoding of scores into a valid
    encoding (``_decode(scores [..., R, C])``, used by :meth:`from_one_hot`).

    Build your own with :func:`jaxnag.spaces.categorical` and :func:`jaxnag.spaces.register`.

    Equality is identity: registry spaces are singletons, so a space can be a
    static argument of ``jax.jit``.

    Examples:
      >>> from jaxnag import spaces
      >>> s = spaces.get("nb201")
      >>> ops = s.from_string("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|"
      ...                     "+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|")
      >>> ops.tolist()
      [3, 3, 3, 1, 3, 3]
      >>> s.to_string(ops) == s.to_string(s.from_one_hot(s.one_hot(ops)))
      True
    """

    name: str
    slot_names: tuple[str, ...]
    choices: tuple[tuple[str, ...], ...]
    num_nodes: int
    edges: tuple[tuple[int, int], ...] | None
    description: str
    _to_string: Callable[[np.ndarray], str] = dataclasses.field(repr=False)
    _from_string: Callable[[str], np.ndarray] = dataclasses.field(repr=False)
    _extra_valid: Callable[[jax.Array], jax.Array] | None = dataclasses.field(
        default=None, repr=False)
    _canonical_ids: Callable[[], np.ndarray] | None = dataclasses.field(
        default=None, repr=False)
    _adjacency: Callable[[np.ndarray], np.ndarray] | None = dataclasses.field(
        default=None, repr=False)
    benchmark_dedups_isomorphs: bool = False
    remove: tuple[int, ...] | None = None
    identity: tuple[int, ...] | None = None
    baseline: tuple[int, ...] | None = None
    _random: Callable[[jax.Array, tuple[int, ...]], jax.Array] | None = dataclasses.field(default=None, repr=False)
    _decode: Callable[[jax.Array], jax.Array] | None = dataclasses.field(default=None, repr=False)

    def __post_init__(self):
        r = len(self.slot_names)
        if r < 1 or len(self.choices) != r:
            raise ConfigError(f"space {self.name!r}: one tuple of choices per slot ({r} slot names), got "
                              f"{len(self.choices)}")
        for slot, names in enumerate(self.choices):
            if len(names) < 1 or len(set(names)) != len(names):
                raise ConfigError(f"space {self.name!r}: slot {slot} ({self.slot_names[slot]}) needs distinct "
                                  f"choice names, got {tuple(names)}")
        if self.edges is not None:
            if len(self.edges) != r:
                raise ConfigError(f"space {self.name!r}: edges gives one (src, dst) per slot: {r} slots, "
                                  f"{len(self.edges)} edges")
            for slot, (a, b) in enumerate(self.edges):
                if not 0 <= a < b < self.num_nodes:
                    raise ConfigError(f"space {self.name!r}: edge {slot} ({a}, {b}) must go from a lower to a "
                                      f"higher node in 0..{self.num_nodes - 1}")
        for field in ("remove", "identity", "baseline"):
            value = getattr(self, field)
            value = (-1,) * r if value is None else tuple(int(v) for v in value)
            if len(value) != r or any(not -1 <= v < len(self.choices[i]) for i, v in enumerate(value)):
                raise ConfigError(f"space {self.name!r}: {field} gives one choice index per slot (-1: none), got "
                                  f"{getattr(self, field)}")
            object.__setattr__(self, field, value)

    def reference(self) -> np.ndarray:
        """int32 ``[R]``: each slot's Shapley reference, the choice that stands for "this component
        absent": :attr:`remove` where declared, else :attr:`identity`, else :attr:`baseline`, else -1 (the
        slot is not a player: always kept).

        Examples:
          >>> from jaxnag import spaces
          >>> spaces.get("nasbench_graph").reference().tolist()  # link pattern: no player; ops: skip
          [-1, 8, 8, 8, 8]
          >>> spaces.get("nb101").reference()[-5:].tolist()  # node ops scored against maxpool3x3
          [2, 2, 2, 2, 2]
        """
        remove, identity = np.asarray(self.remove, np.int32), np.asarray(self.identity, np.int32)
        return np.where(remove >= 0, remove, np.where(identity >= 0, identity, self.baseline)).astype(np.int32)

    # ------------------------------------------------------------------ sizes
    @property
    def num_slots(self) -> int:
        """R, the number of categorical slots."""
        return len(self.choices)

    @property
    def num_choices(self) -> int:
        """C, the largest number of choices of any slot (the one-hot width)."""
        return max(len(c) for c in self.choices)

    @property
    def shape(self) -> tuple[int, int]:
        """``(R, C)``: the shape of one architecture's one-hot encoding."""
        return (self.num_slots, self.num_choices)

    @property
    def choice_counts(self) -> np.ndarray:
        """Number of choices of each slot, int32 ``[R]``."""
        return np.array([len(c) for c in self.choices], np.int32)

    @property
    def choice_mask(self) -> np.ndarray:
        """bool ``[R, C]``: which one-hot columns are real choices of each slot."""
        return np.arange(self.num_choices)[None, :] < self.choice_counts[:, None]

    @property
    def size(self) -> int:
        """Number of distinct encodings (product of the choice counts)."""
        return math.prod(len(c) for c in self.choices)  # a Python int: DARTS's 8^28 overflows int64

    @property
    def op_names(self) -> tuple[str, ...]:
        """Choice names of the last slot (the op vocabulary of op slots)."""
        return self.choices[-1]

    # -------------------------------------------------------------- encodings
    def one_hot(self, ops: jax.Array) -> jax.Array:
        """int ``[..., R]`` -> float32 one-hot ``[..., R, C]``."""
        return jax.nn.one_hot(ops, self.num_choices, dtype=jnp.float32)

    def from_one_hot(self, x: jax.Array) -> jax.Array:
        """Decode scores ``[..., R, C]`` (one-hot or continuous) by argmax -> int32 ``[..., R]`` (or the space's
        own decoding into a valid encoding, DARTS's top two inputs per node).

        Columns that are not choices of a slot are never selected.
        """
        x = jnp.asarray(x)
        if x.shape[-2:] != self.shape:
            raise InvalidArchitecture(
                f"{self.name}: expected scores of shape [..., {self.num_slots}, "
                f"{self.num_choices}], got {tuple(x.shape)}")
        masked = jnp.where(jnp.broadcast_to(jnp.asarray(self.choice_mask), x.shape), x, -jnp.inf)
        if self._decode is not None:
            return self._decode(masked)
        return _argmax(masked)

    def rank(self, ops: jax.Array) -> jax.Array:
        """Mixed-radix index of an encoding in ``[0, size)``, int32 ``[...]`` (slot 0 most significant);
        numpy in, numpy out (host-side setup compiles nothing)."""
        radix = self.choice_counts
        weights = np.cumprod(np.concatenate([radix[1:], [1]])[::-1])[::-1].astype(np.int64)
        if self.size >= 2**31:
            raise ValueError(f"{self.name}: space of size {self.size} is too large to rank in int32")
        if isinstance(ops, np.ndarray):
            return (ops.astype(np.int64) @ weights).astype(np.int32)
        ops = jnp.asarray(ops).astype(jnp.int32)
        return ops @ jnp.asarray(weights, jnp.int32)

    def unrank(self, index: jax.Array) -> jax.Array:
        """Inverse of :meth:`rank`: int ``[...]`` -> int32 ``[..., R]``; numpy in, numpy out."""
        xp = np if isinstance(index, (np.ndarray, np.integer, int)) else jnp
        index = xp.asarray(index).astype(xp.int32)
        out = []
        for radix in self.choice_counts[::-1]:
            out.append(index % int(radix))
            index = index // int(radix)
        return xp.stack(out[::-1], axis=-1).astype(xp.int32)

    def all_ops(self) -> np.ndarray:
        """Every encoding of the space, int32 ``[size, R]`` in rank order (host-side)."""
        grids = np.meshgrid(*[np.arange(n) for n in self.choice_counts], indexing="ij")
        return np.stack([g.reshape(-1) for g in grids], axis=-1).astype(np.int32)

    # --------------------------------------------------------------- validity
    def is_valid(self, ops: jax.Array) -> jax.Array:
        """bool ``[...]``: every slot in range and the space's own constraints hold; numpy in, numpy out (on the
        host the range is checked in numpy and the space's rule runs as one compiled program)."""
        if isinstance(ops, np.ndarray):
            ok = np.all((ops >= 0) & (ops < self.choice_counts), axis=-1)
            if self._extra_valid is not None:
                safe = np.clip(ops, 0, self.num_choices - 1).astype(np.int32)
                small = self.size <= _RULE_TABLE_MAX
                ok = ok & (self._rule_table()[self.rank(safe)] if small else self._rule_on_host(safe))
            return ok
        ops = jnp.asarray(ops)
        counts = jnp.broadcast_to(jnp.asarray(self.choice_counts), ops.shape)
        ok = jnp.all((ops >= 0) & (ops < counts), axis=-1)
        if self._extra_valid is not None:
            ok = ok & self._extra_valid(jnp.clip(ops, 0, self.num_choices - 1))
        return ok

    def _rule_table(self) -> np.ndarray:
        """The space's own rule for every encoding, bool ``[size]`` in rank order (host-side, cached): a host
        check of any rows is then a lookup, and the rule compiles once per space."""
        return _cached(self, "rule", lambda: self._rule_on_host(self.all_ops()))

    def _rule_on_host(self, ops: np.ndarray) -> np.ndarray:
        """The space's own rule on in-range int32 numpy rows, as numpy bool ``[...]``: one compiled program per
        shape (run eagerly, the rule would compile each of its operations), also when called while tracing."""
        with jax.ensure_compile_time_eval():
            return np.asarray(_RULE(self, ops))

    def connected(self, ops: jax.Array) -> jax.Array:
        """bool ``[...]``: whether the cell's output node is reachable from its input node through edges
        whose choice is not the one that removes the edge (:attr:`remove`). A space without a cell graph, or
        that declares no removing choice, is always connected. Jittable.

        Examples:
          >>> from jaxnag import spaces
          >>> s = spaces.get("nb201")
          >>> s.connected(np.array([[3, 3, 3, 0, 0, 0], [0, 3, 3, 3, 0, 3]])).tolist()
          [False, True]
        """
        ops = jnp.asarray(ops)
        if self.edges is None or all(r < 0 for r in self.remove):
            return jnp.ones(ops.shape[:-1], bool)
        reach = [jnp.ones(ops.shape[:-1], bool)] + [jnp.zeros(ops.shape[:-1], bool)] * (self.num_nodes - 1)
        for slot in sorted(range(self.num_slots), key=lambda s: self.edges[s][1]):  # topological: by target
            src, dst = self.edges[slot]
            alive = ops[..., slot] != self.remove[slot] if self.remove[slot] >= 0 else True
            reach[dst] = reach[dst] | (reach[src] & alive)
        return reach[-1]

    def check(self, ops) -> np.ndarray:
        """Host-side validation with a clear error; returns ``ops`` as int32 numpy ``[..., R]``.

        Raises:
          InvalidArchitecture: wrong trailing shape, non-integer values, a choice out
            of range, or an encoding the space forbids.
        """
        arr = np.asarray(ops)
        if arr.ndim == 0 or arr.shape[-1] != self.num_slots:
            raise InvalidArchitecture(
                f"{self.name}: ops must have shape [..., {self.num_slots}], got {arr.shape}")
        if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.number):
            raise InvalidArchitecture(f"{self.name}: ops must be integers, got dtype {arr.dtype}")
        if not np.issubdtype(arr.dtype, np.integer):
            if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
                raise InvalidArchitecture(f"{self.name}: ops must be integers, got dtype {arr.dtype}")
        # Range-check before narrowing to int32, so a huge int64 cannot wrap into a valid choice.
        wide = arr.astype(np.float64) if not np.issubdtype(arr.dtype, np.integer) else arr
        bad = (wide < 0) | (wide >= self.choice_counts)
        if bad.any():
            where = np.argwhere(bad)[0]
            slot = int(where[-1])
            raise InvalidArchitecture(
                f"{self.name}: slot {slot} ({self.slot_names[slot]}) has choice "
                f"{wide[tuple(where)]:g}, valid range is 0..{self.choice_counts[slot] - 1}")
        arr = arr.astype(np.int32)
        if self._extra_valid is None:  # the range was the whole rule (checked above, in numpy)
            return arr
        valid = self.is_valid(arr)
        if not valid.all():
            first = arr.reshape(-1, self.num_slots)[np.argmin(valid.reshape(-1))]
            raise InvalidArchitecture(
                f"{self.name}: {self.to_string(first)} is not a valid architecture of this space")
        return arr

    # ---------------------------------------------------------------- strings
    def to_string(self, ops) -> str:
        """One architecture ``[R]`` -> the benchmark's own arch string."""
        arr = np.asarray(ops)
        if arr.shape != (self.num_slots,):
            raise InvalidArchitecture(
                f"{self.name}: to_string takes one architecture of shape ({self.num_slots},), got {arr.shape}")
        bad = (arr < 0) | (arr >= self.choice_counts)
        if bad.any():
            raise InvalidArchitecture(f"{self.name}: choice out of range in {arr.tolist()}")
        return self._to_string(arr.astype(np.int32))

    def from_string(self, arch: str) -> np.ndarray:
        """The benchmark's arch string -> int32 ``[R]``; raises :class:`InvalidArchitecture`."""
        if not isinstance(arch, str):
            raise InvalidArchitecture(f"{self.name}: arch string must be str, got {type(arch).__name__}")
        ops = self._from_string(arch.strip())
        valid = bool(self.is_valid(np.asarray(ops)))
        if not valid:
            raise InvalidArchitecture(f"{self.name}: {arch!r} is not a valid architecture of this space")
        return ops

    # ------------------------------------------------------------------ graph
    def adjacency(self, ops=None) -> np.ndarray:
        """Node-level DAG of the cell, int8 ``[V, V]`` with ``A[i, j] = 1`` for an edge i -> j.

        Fixed-topology spaces ignore ``ops``; NAS-Bench-Graph needs it (the macro
        link pattern is a slot).
        """
        if self._adjacency is not None:
            if ops is None:
                raise ValueError(f"{self.name}: the cell graph depends on the architecture; pass ops")
            return self._adjacency(self.check(ops))
        adj = np.zeros((self.num_nodes, self.num_nodes), np.int8)
        for src, dst in self.edges or ():
            adj[src, dst] = 1
        return adj

    def paths(self) -> tuple[tuple[int, ...], ...]:
        """Every path of the cell DAG from the input node (0) to the output node (the last), as the tuple of its
        slots in order: the paths of BANANAS's path encoding (White et al., AAAI 2021), whose features are a
        path's ops. ``()`` for a space without a fixed cell graph (:attr:`edges` None).

        Examples:
          >>> from jaxnag import spaces
          >>> s = spaces.get("nb201")  # slots 0->1, 0->2, 1->2, 0->3, 1->3, 2->3
          >>> s.paths()  # 0->1->2->3, 0->1->3, 0->2->3, 0->3
          ((0, 2, 5), (0, 4), (1, 5), (3,))
        """
        if self.edges is None:
            return ()
        out_of = {}
        for slot, (src, dst) in enumerate(self.edges):
            out_of.setdefault(src, []).append(slot)
        found = []

        def walk(node, path):
            if node == self.num_nodes - 1:
                found.append(tuple(path))
                return
            for slot in out_of.get(node, ()):
                walk(self.edges[slot][1], path + [slot])
        walk(0, [])
        return tuple(found)

    @property
    def has_rule(self) -> bool:
        """Whether validity is more than one declared choice per slot (a ``valid=`` rule: NB101's reachability and
        edge count, DARTS's two inputs per node, NAS-Bench-Graph's not-all-skip).

        Examples:
          >>> from jaxnag import spaces
          >>> spaces.get("nb101").has_rule, spaces.get("nb201").has_rule
          (True, False)
        """
        return self._extra_valid is not None

    @property
    def has_decoding(self) -> bool:
        """Whether :meth:`from_one_hot` decodes scores by the space's own rule into valid encodings (DARTS's top two
        inputs per node) rather than by each slot's argmax.

        Examples:
          >>> from jaxnag import spaces
          >>> spaces.get("darts").has_decoding, spaces.get("nb101").has_decoding
          (True, False)
        """
        return self._decode is not None

    # ----------------------------------------------------------- isomorphism
    @property
    def has_canonical(self) -> bool:
        """Whether this space defines isomorphism classes."""
        return self._canonical_ids is not None

    def canonical_table(self) -> np.ndarray:
        """int32 ``[size]``: for each rank, the smallest rank of its isomorphism class."""
        if self._canonical_ids is None:
            raise NotImplementedError(f"{self.name} defines no isomorphism classes")
        return _cached(self, "canonical", self._canonical_ids)

    def canonical(self, ops: jax.Array) -> jax.Array:
        """Isomorphism-canonical id (a rank) of ``ops [..., R]``; jittable (a gather)."""
        return jnp.asarray(self.canonical_table())[self.rank(ops)]

    def query_id(self, ops: jax.Array) -> jax.Array:
        """Id under which ``ops [..., R]`` counts as a benchmark query, in ``[0, size)``: the
        canonical id where the benchmark stores one entry per isomorphism class, else the rank."""
        return self.canonical(ops) if self.benchmark_dedups_isomorphs else self.rank(ops)

    def neighbours(self, ops: jax.Array) -> tuple[jax.Array, jax.Array]:
        """Every encoding one slot away from ``ops [..., R]``: ``(ops [..., M, R], valid [..., M])`` with
        ``M = R * (C - 1)``, slot by slot, each other choice in turn (rows past a slot's own choices, and
        encodings the space forbids, are not ``valid``); jittable.

        Examples:
          >>> from jaxnag import spaces
          >>> ops, valid = spaces.get("nb201").neighbours(jnp.zeros(6, jnp.int32))
          >>> ops.shape, int(valid.sum())
          ((24, 6), 24)
        """
        ops = jnp.asarray(ops, jnp.int32)
        r, c = self.num_slots, self.num_choices
        slot = np.repeat(np.arange(r), c - 1)
        shift = np.tile(np.arange(1, c), r)
        lead = ops.shape[:-1] + (r * (c - 1),)
        counts = jnp.broadcast_to(jnp.asarray(self.choice_counts)[slot], lead)
        new = (ops[..., slot] + jnp.broadcast_to(jnp.asarray(shift, jnp.int32), lead)) % counts
        rows = np.arange(r * (c - 1))
        out = jnp.broadcast_to(ops[..., None, :], lead + (r,))
        out = out.at[..., rows, slot].set(new)
        return out, (jnp.broadcast_to(jnp.asarray(shift), lead) < counts) & self.is_valid(out)

    # ------------------------------------------------------------------ misc
    def random(self, key: jax.Array, shape: Sequence[int] = ()) -> jax.Array:
        """Uniformly random valid encodings, int32 ``[*shape, R]`` (rejection-free where all are valid). Called
        eagerly it runs as one compiled program per shape (op by op, each operation would compile)."""
        shape = tuple(int(n) for n in shape)
        if not isinstance(key, jax.core.Tracer):
            return _RANDOM(self, key, shape)
        return self._random_traced(key, shape)

    def _random_traced(self, key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
        if self._random is not None:
            return self._random(key, shape)

        def uniform(k):
            u = jax.random.uniform(k, shape + (self.num_slots,))
            counts = jnp.broadcast_to(jnp.asarray(self.choice_counts, u.dtype), u.shape)
            return jnp.floor(u * counts).astype(jnp.int32)
        if self._extra_valid is None:
            return uniform(key)
        if not self.enumerable:  # too many to list the valid ones: redraw the invalid rows (64 times at most)
            def redraw(c):
                k, ops, i = c
                k, sub = jax.random.split(k)
                return k, jnp.where(self.is_valid(ops)[..., None], ops, uniform(sub)), i + 1
            k0, k1 = jax.random.split(key)
            return jax.lax.while_loop(lambda c: (c[2] < 64) & ~jnp.all(self.is_valid(c[1])), redraw,
                                      (k1, uniform(k0), 0))[1]
        valid = jnp.asarray(self.valid_ranks())
        idx = jax.random.randint(key, shape, 0, valid.shape[0])
        return self.unrank(valid[idx])

    def valid_ranks(self) -> np.ndarray:
        """int32 ``[n_valid]``: the ranks of all valid encodings, ascending (host-side, cached)."""
        if self._extra_valid is None:  # every encoding in range is valid
            return _cached(self, "valid_ranks", lambda: np.arange(self.size, dtype=np.int32))
        return _cached(self, "valid_ranks", lambda: np.flatnonzero(self._rule_table()).astype(np.int32))

    def distinct_ranks(self) -> np.ndarray:
        """Ranks of one encoding per distinct benchmark query: all valid encodings, or one
        representative per isomorphism class where the benchmark dedups them."""
        if not self.benchmark_dedups_isomorphs:
            return self.valid_ranks()
        return _cached(self, "distinct_ranks", lambda: np.intersect1d(
            self.valid_ranks(), np.unique(self.canonical_table())).astype(np.int32))

    def check_budget(self, n, name: str = "budget") -> int:
        """``n`` as an int in ``[1, number of distinct queries]``: a budget of unique architectures."""
        return check_int(name, n, lo=1, hi=len(self.distinct_ranks()) if self.enumerable else min(self.size, 1 << 30))

    @property
    def enumerable(self) -> bool:
        """Whether the space is small enough (2^24 architectures at most) to list every architecture:
        a larger one samples by drawing (:meth:`random`, :meth:`sample_unique`), never by listing."""
        return self.size <= ENUMERABLE

    def sample_unique(self, key: jax.Array, n: int) -> jax.Array:
        """``n`` distinct valid architectures (distinct queries, see :meth:`query_id`) drawn uniformly
        without replacement, int32 ``[n, R]``."""
        if not self.enumerable:
            return self._draw_unique(key, n)
        valid = self.distinct_ranks()
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 0 <= n <= len(valid):
            raise ConfigError(f"cannot draw {n!r} distinct architectures: {self.name} has {len(valid)} "
                              f"(the budget must be an integer in [1, {len(valid)}])")
        return self.unrank(jnp.asarray(valid)[distinct_indices(key, len(valid), n)])

    def _draw_unique(self, key: jax.Array, n: int) -> jax.Array:
        """:meth:`sample_unique` on a space too large to list: ``n`` draws of :meth:`random` per round, the
        distinct valid ones not held yet kept, until ``n`` are held (a space this large repeats rarely)."""
        from ..archive import first_in_batch
        check_int("n", n, lo=0, hi=min(self.size, 1 << 30))
        if n == 0:
            return jnp.zeros((0, self.num_slots), jnp.int32)

        def more(c):
            k, out, count, i = c
            k, sub = jax.random.split(k)
            draws = self.random(sub, (n,))
            pool = jnp.concatenate([out, draws])
            held = jnp.arange(n) < count
            ok = first_in_batch(pool, jnp.concatenate([held, self.is_valid(draws)]), self)[n:]
            at = jnp.where(ok, count + jnp.cumsum(ok) - 1, n)
            return k, out.at[at].set(draws, mode="drop"), jnp.minimum(count + jnp.sum(ok), n), i + 1
        out = jnp.zeros((n, self.num_slots), jnp.int32)
        return jax.lax.while_loop(lambda c: (c[2] < n) & (c[3] < 1000), more, (key, out, jnp.int32(0), 0))[1]

    def __repr__(self) -> str:
        return f"SearchSpace({self.name!r}, slots={self.num_slots}, choices={self.num_choices})"


def distinct_indices(key: jax.Array, m: int, n: int) -> jax.Array:
    """``n`` distinct indices of ``range(m)`` drawn uniformly without replacement, in random order: int32 ``[n]``.

    The ``n`` largest of ``m`` random keys, each 29 random bits written as a positive normal float32 (whose
    order is the bits' order), through XLA's float top-k: 7-157x faster on CPU than
    ``jax.random.choice(..., replace=False)``, which sorts a whole permutation twice (docs/draws.md). A draw has
    about ``m^2 / 2^30`` pairs of equal keys, and one changes the draw only where it falls at the cut (then the
    lower index is taken).

    Examples:
      >>> import jax
      >>> from jaxnag import spaces
      >>> idx = jax.jit(lambda k: spaces.distinct_indices(k, 10, 10))(jax.random.key(0))  # all of them: a permutation
      >>> sorted(idx.tolist())
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
      >>> try:
      ...     spaces.distinct_indices(jax.random.key(0), 5, 6)
      ... except ValueError as e:
      ...     print(e)
      n must be an integer in [0, 5], got 6
    """
    from .. import rng
    check_int("m", m, lo=1, hi=(1 << 32) - 1)
    check_int("n", n, lo=0, hi=m)
    bits = rng.bits(key, (m,)) >> np.uint32(3)  # 29 bits
    keys = jax.lax.bitcast_convert_type(bits + np.uint32(1 << 23), jnp.float32)  # exponents 1..64: no subnormal
    return jax.lax.top_k(keys, n)[1].astype(jnp.int32)


_RULE_TABLE_MAX = 1 << 20  # spaces up to this size check host rows by a lookup in the rule's table
_RULE = jax.jit(lambda space, ops: space._extra_valid(ops), static_argnums=0)
_RANDOM = jax.jit(lambda space, key, shape: space._random_traced(key, shape), static_argnums=(0, 2))
ENUMERABLE = 1 << 24  # a space up to this size may list its architectures (valid ranks, distinct queries)
_CACHE: dict[tuple[int, str], np.ndarray] = {}


def _cached(space: SearchSpace, what: str, fn: Callable[[], np.ndarray]) -> np.ndarray:
    key = (id(space), what)
    if key not in _CACHE:
        with jax.ensure_compile_time_eval():  # host constants, also when first asked inside jit
            _CACHE[key] = np.asarray(fn())
    return _CACHE[key]
