"""Building a search space from its description: :func:`categorical`.

A chain (one slot per layer) or a cell (one slot per edge of a fixed DAG), with the
string format, validity rule and op semantics declared, not guessed from op names.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..errors import ConfigError, InvalidArchitecture
from ._space import SearchSpace

_RESERVED = ("|", "~", "+")  # the default string formats' separators


def _per_slot(name: str, value, choices: tuple[tuple[str, ...], ...]) -> tuple[int, ...] | None:
    """``remove``/``identity``/``baseline`` as one index per slot: an op name (every slot that has it), or per slot
    a name, an index or None."""
    if value is None:
        return None
    if isinstance(value, str):
        if not any(value in names for names in choices):
            raise ConfigError(f"{name}={value!r}: no slot has a choice called {value!r}")
        return tuple(names.index(value) if value in names else -1 for names in choices)
    value = tuple(value)
    if len(value) != len(choices):
        raise ConfigError(f"{name} gives one entry per slot ({len(choices)}), got {len(value)}")
    out = []
    for slot, (v, names) in enumerate(zip(value, choices)):
        if v is None:
            out.append(-1)
        elif isinstance(v, str):
            if v not in names:
                raise ConfigError(f"{name}[{slot}]={v!r} is not a choice of slot {slot}: {', '.join(names)}")
            out.append(names.index(v))
        else:
            out.append(int(v))
    return tuple(out)


def _chain_strings(name: str, choices):
    def to_string(ops: np.ndarray) -> str:
        return "|".join(choices[slot][int(c)] for slot, c in enumerate(ops))

    def from_string(arch: str) -> np.ndarray:
        parts = arch.split("|")
        if len(parts) != len(choices):
            raise InvalidArchitecture(f"{name}: arch string must be {len(choices)} choices joined by '|' (e.g. "
                                      f"{to_string(np.zeros(len(choices), np.int32))!r}), got {arch!r}")
        out = []
        for slot, part in enumerate(parts):
            if part not in choices[slot]:
                raise InvalidArchitecture(f"{name}: unknown choice {part!r} for slot {slot}; choices are "
                                          f"{', '.join(choices[slot])}")
            out.append(choices[slot].index(part))
        return np.asarray(out, np.int32)
    return to_string, from_string


def _cell_strings(name: str, choices, edges):
    """NAS-Bench-201's format for any cell: per target node ``|op~src|op~src|``, nodes joined by ``+``."""
    targets = sorted({b for _, b in edges})
    groups = [[slot for slot, (_, b) in enumerate(edges) if b == t] for t in targets]

    def to_string(ops: np.ndarray) -> str:
        return "+".join("|" + "|".join(f"{choices[s][int(ops[s])]}~{edges[s][0]}" for s in g) + "|" for g in groups)

    def from_string(arch: str) -> np.ndarray:
        nodes = arch.split("+")
        if len(nodes) != len(groups):
            raise InvalidArchitecture(f"{name}: arch string must have {len(groups)} nodes joined by '+' (e.g. "
                                      f"{to_string(np.zeros(len(choices), np.int32))!r}), got {arch!r}")
        out = np.zeros(len(choices), np.int32)
        for t, node, group in zip(targets, nodes, groups):
            items = [x for x in node.split("|") if x]
            if not (node.startswith("|") and node.endswith("|")) or len(items) != len(group):
                raise InvalidArchitecture(f"{name}: node {t} must be '|op~src|...|' with {len(group)} inputs, "
                                          f"got {node!r}")
            for item, slot in zip(items, group):
                op, sep, src = item.partition("~")
                if not sep or src != str(edges[slot][0]):
                    raise InvalidArchitecture(f"{name}: expected 'op~{edges[slot][0]}' in node {t}, got {item!r}")
                if op not in choices[slot]:
                    raise InvalidArchitecture(f"{name}: unknown op {op!r}; ops are {', '.join(choices[slot])}")
                out[slot] = choices[slot].index(op)
        return out
    return to_string, from_string


def categorical(name: str, choices: Sequence[str] | Sequence[Sequence[str]], *, slots: int | Sequence[str] | None = None,
                edges: Sequence[tuple[int, int]] | None = None, remove=None, identity=None,
                baseline=None, valid: Callable | None = None, to_string: Callable[[np.ndarray], str] | None = None,
                from_string: Callable[[str], np.ndarray] | None = None, description: str | None = None,
                sample: Callable | None = None, decode: Callable | None = None) -> SearchSpace:
    """A search space of categorical slots, registered with :func:`jaxnag.spaces.register` to reach the
    CLI, ``jaxnag bench`` and :func:`jaxnag.parallel.run` by name.

    Args:
      name: the space's name (``--space NAME``).
      choices: the op names every slot chooses from (then ``slots`` or ``edges`` says how many slots),
        or one sequence of names per slot.
      slots: the number of slots, or their names (default ``"0".."R-1"``, or ``"a->b"`` for edges).
      edges: a cell: the ``(src, dst)`` nodes of each slot's edge (node 0 the input, the largest the
        output). Gives :meth:`~SearchSpace.connected` and NB201's string format.
      remove: the choice that removes a slot's component (the edge is absent): an op name, or one
        name / index / None per slot. Declares PG-NAG's Shapley players and the proxies' disconnected
        cells; any reference op works for PG-NAG (its scores are then relative to that op).
      identity: the choice that passes its input on unchanged (a skip connection), same forms.
      baseline: for slots with neither, the choice PG-NAG scores the others against (an op without weights,
        such as a pooling), same forms; nothing else reads it.
      valid: an extra jittable rule ``ops [..., R] -> bool [...]`` (e.g. "not every layer skip").
      to_string, from_string: the arch-string format (default: choices joined by ``|``, or NB201's
        ``|op~0|+|op~0|op~1|`` for a cell); ``from_string`` raises
        :class:`~jaxnag.errors.InvalidArchitecture` on a bad string.
      description: one line for ``jaxnag spaces``.
      sample: for a space whose valid encodings are rare among slot combinations (``valid`` rejects most), a
        jittable uniform sampler of valid ones ``(key, shape) -> int32 [*shape, R]`` (default: draw slot by
        slot and redraw what ``valid`` rejects, 64 times at most).
      decode: with it, a jittable ``scores [..., R, C] -> int32 [..., R]`` giving a valid encoding (columns that
        are not a slot's choices arrive as -inf), used by ``from_one_hot`` and so by every generator that
        decodes scores (default: argmax per slot). :mod:`jaxnag.spaces.darts` shows both.

    Examples:
      >>> from jaxnag import spaces
      >>> chain = spaces.categorical("chain3", ("conv3", "conv5", "skip"), slots=3, identity="skip")
      >>> chain.size, chain.from_string("conv5|skip|conv3").tolist()
      (27, [1, 2, 0])
      >>> cell = spaces.categorical("cell3", ("zero", "conv", "pool"), edges=[(0, 1), (0, 2), (1, 2)],
      ...                           remove="zero")
      >>> cell.to_string([1, 0, 2]), bool(cell.connected(cell.from_string("|conv~0|+|zero~0|pool~1|")))
      ('|conv~0|+|zero~0|pool~1|', True)
    """
    if not isinstance(name, str) or not name.strip() or any(c.isspace() for c in name):
        raise ConfigError(f"a space name is one word, got {name!r}")
    choices = tuple(choices)
    if choices and all(isinstance(c, str) for c in choices):
        count = len(edges) if edges is not None else slots if isinstance(slots, int) else \
            len(slots) if slots is not None else None
        if count is None:
            raise ConfigError(f"space {name!r}: one tuple of choices is shared by every slot: say how many slots "
                              "(slots=R, slot names, or edges)")
        choices = (choices,) * int(count)
    choices = tuple(tuple(str(c) for c in names) for names in choices)
    r = len(choices)
    if r == 0:
        raise ConfigError(f"space {name!r} needs at least one slot")
    edges = None if edges is None else tuple((int(a), int(b)) for a, b in edges)
    if isinstance(slots, int) or slots is None:
        if isinstance(slots, int) and slots != r:
            raise ConfigError(f"space {name!r}: slots={slots} but {r} slots of choices")
        slot_names = tuple(f"{a}->{b}" for a, b in edges) if edges is not None else tuple(map(str, range(r)))
    else:
        slot_names = tuple(str(s) for s in slots)
        if len(slot_names) != r:
            raise ConfigError(f"space {name!r}: {len(slot_names)} slot names for {r} slots")
    if (to_string is None) != (from_string is None):
        raise ConfigError(f"space {name!r}: give both to_string and from_string, or neither (the default format)")
    if to_string is None:
        clash = sorted({c for names in choices for c in names if any(x in c for x in _RESERVED)})
        if clash:
            raise ConfigError(f"space {name!r}: choice names {clash} contain {' '.join(_RESERVED)}, the default "
                              "arch-string separators: rename them or give to_string and from_string")
        to_string, from_string = (_cell_strings(name, choices, edges) if edges is not None
                                  else _chain_strings(name, choices))
    if valid is not None and not callable(valid):
        raise ConfigError(f"space {name!r}: valid must be a jittable function ops [..., R] -> bool [...]")
    for what, fn in (("sample", sample), ("decode", decode)):
        if fn is not None and not callable(fn):
            raise ConfigError(f"space {name!r}: {what} must be a jittable function")
    num_nodes = max(b for _, b in edges) + 1 if edges is not None else r + 1
    sizes = " x ".join(str(len(c)) for c in choices) if len({len(c) for c in choices}) > 1 else \
        f"{r} slots x {len(choices[0])} choices"
    return SearchSpace(
        name=name, slot_names=slot_names, choices=choices, num_nodes=num_nodes, edges=edges,
        description=description or f"{name}: {sizes} (user space)", _to_string=to_string,
        _from_string=from_string, _extra_valid=valid, remove=_per_slot("remove", remove, choices),
        identity=_per_slot("identity", identity, choices), baseline=_per_slot("baseline", baseline, choices),
        _random=sample, _decode=decode)
