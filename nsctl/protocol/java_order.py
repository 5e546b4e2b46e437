"""Iteration order of Java's `HashMap`, `HashSet` and `ConcurrentHashMap` (JDK 8-17).

The Java NameServer keeps its tables in these maps and writes its answers by iterating them, so
the order of topics, brokers and clusters in an answer follows `String.hashCode`, the table's
capacity and its history. The maps here are `dict`/`set` subclasses (lookups stay C-fast) whose
iteration follows the Java order of the same sequence of insertions and removals:

- `JavaHashMap` / `JavaHashSet` (`java.util.HashMap`): a key's bucket is
  `spread(hash) & (capacity - 1)`; within a bucket, insertion order. A resize splits every bucket
  keeping relative order, so the order is always "by bucket, then by insertion" -- which is a
  stable sort of Python's insertion order. Only the capacity has to be tracked: it starts at 16
  (or from the constructor argument), doubles when the size exceeds 3/4 of it, never shrinks, and
  also doubles when one bucket reaches 9 entries while the table is smaller than 64.
- `JavaConcurrentHashMap`: same buckets, but it resizes when the size *reaches* 3/4, its sizing
  from a constructor argument differs, and a resize does not keep relative order (each bucket's
  nodes before its "last run" are re-linked in reverse), so the buckets themselves are simulated.

Not modelled: buckets that turn into trees (9 or more keys in one bucket of a table of 64 or
more), whose order Java changes on later insertions; it needs hash collisions no real topic set
has. `HashSet(Collection)` is sized as JDK 8-17 do (JDK 19+ size a copy of exactly 12 keys
smaller).
"""

from __future__ import annotations

import functools
import sys
from array import array
from bisect import bisect_left, bisect_right
from collections import Counter, deque
from collections.abc import Callable, Hashable, Iterable, Iterator
from itertools import compress, islice
from operator import eq, mul, not_
from typing import Any

_MASK32 = 0xFFFFFFFF
_MASK64 = 0xFFFFFFFFFFFFFFFF
_UTF16 = "utf-16-le" if sys.byteorder == "little" else "utf-16-be"
#: _POWERS[n] = (31**(n-1), ..., 31, 1), reduced to 32 bits: String.hashCode as a dot product.
_POWERS: list[tuple[int, ...]] = [()]
_MAX_POWERS = 512
#: Spread hashes of strings seen lately (bounded: cleared when full).
_HASH_CACHE: dict[str, int] = {}
_HASH_CACHE_LIMIT = 1 << 20

DEFAULT_CAPACITY = 16
MIN_TREEIFY_CAPACITY = 64
TREEIFY_THRESHOLD = 8
MAXIMUM_CAPACITY = 1 << 30


#: Items per C call in `_mapped` and `_compressed`: well under a millisecond each.
_PIECE = 8192


def _mapped(function: Callable[[Any], Any], items: list) -> list:
    """`list(map(function, items))`, a piece at a time: the order of 100,000 keys is worked out
    in a worker thread (nsctl.server.offload), which can hand the GIL over only between C
    calls."""
    if len(items) <= _PIECE:
        return list(map(function, items))
    mapped: list = []
    for start in range(0, len(items), _PIECE):
        mapped += map(function, items[start : start + _PIECE])
    return mapped


def _compressed(items: list, selectors: list) -> list:
    """`list(compress(items, selectors))`, a piece at a time (see `_mapped`)."""
    if len(items) <= _PIECE:
        return list(compress(items, selectors))
    kept: list = []
    for start in range(0, len(items), _PIECE):
        end = start + _PIECE
        kept += compress(items[start:end], selectors[start:end])
    return kept


def _powers(n: int) -> tuple[int, ...]:
    while len(_POWERS) <= n:
        previous = _POWERS[-1]
        _POWERS.append((*((p * 31) & _MASK32 for p in previous), 1))
    return _POWERS[n]


def string_hash(s: str) -> int:
    """`String.hashCode()` as an unsigned 32-bit value (over UTF-16 code units)."""
    units: Any = s.encode("ascii") if s.isascii() else memoryview(s.encode(_UTF16)).cast("H")
    n = len(units)
    if n < _MAX_POWERS:
        return sum(map(mul, units, _POWERS[n] if n < len(_POWERS) else _powers(n))) & _MASK32
    h = 0
    for unit in units:
        h = (h * 31 + unit) & _MASK32
    return h


def _spread_string(s: str) -> int:
    """`spread(string_hash(s))`, remembered: topic names are hashed again on every list."""
    h = _HASH_CACHE.get(s)
    if h is None:
        n = len(s)
        if n < len(_POWERS) and s.isascii():  # string_hash, inlined for the common case
            h = sum(map(mul, s.encode("ascii"), _POWERS[n])) & _MASK32
        else:
            h = string_hash(s)
        h ^= h >> 16
        if len(_HASH_CACHE) >= _HASH_CACHE_LIMIT:
            _HASH_CACHE.clear()
        _HASH_CACHE[s] = h
    return h


def spread_hashes(keys: list) -> list[int]:
    """`spread_hash` of each key, computed many strings at a time (remembered as there).

    ASCII strings of one length are hashed together: each character position is a column of
    the names' bytes, laid out in 64-bit lanes of one big integer, and `String.hashCode` is the
    sum of the columns times the powers of 31 -- a few big-integer operations per position
    instead of one Python step per character. A lane never overflows into the next (at most 511
    characters below 2**7 times a power below 2**32), so each lane is one name's hash.
    """
    known = _mapped(_HASH_CACHE.get, keys)  # None for keys not hashed yet
    if None not in known:
        return known
    if known.count(None) == len(known):
        missing = list(dict.fromkeys(keys))
    else:
        missing = list(dict.fromkeys(k for k, h in zip(keys, known, strict=True) if h is None))
    computed: dict[Hashable, int] = {}
    if set(map(type, missing)) == {str} and "".join(missing).isascii():
        ascii_names = missing
    else:  # rare: other keys are hashed one by one
        ascii_names = [k for k in missing if type(k) is str and k.isascii()]
        others = [k for k in missing if not (type(k) is str and k.isascii())]
        computed.update(zip(others, map(spread_hash, others), strict=True))
    lengths = list(map(len, ascii_names))
    by_length = sorted(range(len(ascii_names)), key=lengths.__getitem__)
    names_by_length = list(map(ascii_names.__getitem__, by_length))
    start = 0
    for length, count in sorted(Counter(lengths).items()):
        names = names_by_length[start : start + count]
        start += count
        if count < 8 or length == 0 or length >= _MAX_POWERS:
            computed.update(zip(names, map(_spread_string, names), strict=True))
        else:
            computed.update(zip(names, _spread_ascii_batch(names, length), strict=True))
    if len(_HASH_CACHE) + len(computed) > _HASH_CACHE_LIMIT:
        _HASH_CACHE.clear()
    _HASH_CACHE.update((k, h) for k, h in computed.items() if type(k) is str)
    if len(computed) == len(known):
        return _mapped(computed.__getitem__, keys)
    return [computed[k] if h is None else h for k, h in zip(keys, known, strict=True)]


def _spread_ascii_batch(names: list[str], length: int) -> list[int]:
    """`spread(string_hash(name))` of ASCII names that all have `length` characters."""
    count = len(names)
    text = "".join(names).encode("ascii")
    lanes = bytearray(8 * count)
    total = 0
    for position, power in enumerate(_powers(length)):
        lanes[::8] = text[position::length]
        total += int.from_bytes(lanes, "little") * power
    mask = int.from_bytes(b"\xff\xff\xff\xff\0\0\0\0" * count, "little")
    total &= mask
    total = (total ^ (total >> 16)) & mask  # spread, lane by lane
    values = array("Q", total.to_bytes(8 * count, "little"))
    if sys.byteorder != "little":
        values.byteswap()
    return values.tolist()


def spread_hash(key: Hashable) -> int:
    """The hash a HashMap or ConcurrentHashMap puts `key` into buckets with."""
    if type(key) is str:
        return _spread_string(key)
    h = java_hash(key)
    return h ^ (h >> 16)


def long_hash(value: int) -> int:
    """`Long.hashCode()` as an unsigned 32-bit value."""
    v = value & _MASK64
    return (v ^ (v >> 32)) & _MASK32


def java_hash(key: Hashable) -> int:
    """The hash Java gives a key of the types the NameServer's maps hold (String or Long)."""
    if type(key) is str:
        return string_hash(key)
    if type(key) is int:
        return long_hash(key)
    raise TypeError(f"no Java hash for {type(key).__name__}")


def spread(h: int) -> int:
    """`HashMap.hash`: high bits folded into the low ones. (ConcurrentHashMap also clears the
    sign bit, which no table index can see.)"""
    return h ^ (h >> 16)


def bucket(key: Hashable, capacity: int) -> int:
    return spread_hash(key) & (capacity - 1)


def table_size_for(c: int) -> int:
    """The smallest power of two >= c (at least 1), as `HashMap.tableSizeFor`."""
    if c <= 1:
        return 1
    return min(1 << (c - 1).bit_length(), MAXIMUM_CAPACITY)


def hashmap_capacity(initial_capacity: int | None = None) -> int:
    """Capacity of `new HashMap<>(initialCapacity)` (or `new HashMap<>()`) at its first put."""
    if initial_capacity is None:
        return DEFAULT_CAPACITY
    return table_size_for(initial_capacity)


def chm_capacity(initial_capacity: int | None = None) -> int:
    """Capacity of `new ConcurrentHashMap<>(initialCapacity)` (or the default) at its first put.

    JDK 11+ size it as `tableSizeFor(1 + n / 0.75)`; JDK 8's `tableSizeFor(n + n/2 + 1)` gives the
    same for every argument the NameServer uses (32, 128, 256, 1024).
    """
    if initial_capacity is None:
        return DEFAULT_CAPACITY
    return table_size_for(int(1.0 + initial_capacity / 0.75))


# ------------------------------------------------------------------------------------------------
# java.util.HashMap / HashSet


def _hashmap_grow(capacity: int, size: int, keys: Iterable[Hashable], new_key: Hashable) -> int:
    """Capacity after `new_key` was put into a map now holding `size` keys (`keys`, new one
    included)."""
    if capacity < MIN_TREEIFY_CAPACITY and size > TREEIFY_THRESHOLD:
        # A bucket reaching 9 keys in a small table resizes instead of becoming a tree.
        mask = capacity - 1
        index = spread_hash(new_key) & mask
        if sum(1 for k in keys if spread_hash(k) & mask == index) > TREEIFY_THRESHOLD:
            capacity *= 2
    if size > int(capacity * 0.75) and capacity < MAXIMUM_CAPACITY:
        capacity *= 2
    return capacity


def _hashmap_order(keys: Iterable[Hashable], capacity: int) -> list:
    mask = capacity - 1
    return sorted(keys, key=lambda k: spread_hash(k) & mask)


class _JavaOrderedDict(dict):
    """A dict whose views follow `_ordered()`, the Java iteration order of its keys."""

    __slots__ = ()
    _ordered: Callable[[], list]  # each subclass computes its own order

    def __iter__(self) -> Iterator:
        return iter(self._ordered())

    def __reversed__(self) -> Iterator:
        return reversed(self._ordered())

    def keys(self) -> list:  # type: ignore[override]
        return list(self._ordered())

    def values(self) -> list:  # type: ignore[override]
        get = dict.__getitem__
        return [get(self, k) for k in self._ordered()]

    def items(self) -> list:  # type: ignore[override]
        get = dict.__getitem__
        return [(k, get(self, k)) for k in self._ordered()]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({dict(self.items())!r})"


class JavaHashMap(_JavaOrderedDict):
    """A dict that iterates as `java.util.HashMap` does after the same puts and removes.

    `JavaHashMap()` is `new HashMap<>()` and is created at C speed (the NameServer makes one per
    topic); `with_capacity(n)` is `new HashMap<>(n)` and `copy_of(map)` the copy constructor
    `new HashMap<>(map)`. The order is computed when iterated (these maps are small), never
    stored.
    """

    _capacity = DEFAULT_CAPACITY  # per instance once it differs

    @classmethod
    def with_capacity(cls, initial_capacity: int) -> JavaHashMap:
        created = cls()
        created._capacity = hashmap_capacity(initial_capacity)
        return created

    @classmethod
    def copy_of(cls, source: Any) -> JavaHashMap:
        """`new HashMap<>(map)`: sized for size/0.75 + 1 (so it never resizes while filling),
        filled in the source's iteration order."""
        items = list(source.items())
        created = cls()
        if items:
            created._capacity = table_size_for(int(len(items) / 0.75 + 1.0))
        for key, value in items:
            created[key] = value
        return created

    @property
    def capacity(self) -> int:
        return self._capacity

    def clone(self) -> JavaHashMap:
        """The same map as another object (same capacity, so the same order from here on);
        not Java's copy constructor, which `copy_of` is."""
        created = JavaHashMap()
        dict.update(created, dict.items(self))  # not through keys(), which sorts
        if self._capacity != DEFAULT_CAPACITY:
            created._capacity = self._capacity
        return created

    def __setitem__(self, key: Hashable, value: Any) -> None:
        if key in self:
            dict.__setitem__(self, key, value)
            return
        dict.__setitem__(self, key, value)
        size = len(self)
        capacity = self._capacity
        if size > (capacity >> 1) + (capacity >> 2) or (
            size > TREEIFY_THRESHOLD and capacity < MIN_TREEIFY_CAPACITY
        ):
            grown = _hashmap_grow(capacity, size, dict.keys(self), key)
            if grown != capacity:
                self._capacity = grown

    def setdefault(self, key: Hashable, default: Any = None) -> Any:
        if key in self:
            return dict.__getitem__(self, key)
        self[key] = default
        return default

    def popitem(self) -> tuple[Any, Any]:
        key = next(iter(self))
        return key, self.pop(key)

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def copy(self) -> JavaHashMap:
        return JavaHashMap.copy_of(self)

    def _ordered(self) -> list:
        if len(self) < 2:
            return list(dict.keys(self))
        return _hashmap_order(dict.keys(self), self._capacity)


class JavaHashSet(set):
    """A set that iterates as `java.util.HashSet` does after the same adds and removes."""

    __slots__ = ("_capacity", "_order", "_sequence")

    def __init__(
        self, source: Iterable[Hashable] | None = None, *, initial_capacity: int | None = None
    ) -> None:
        super().__init__()
        self._order: list | None = None
        self._sequence: dict = {}  # insertion order, which breaks ties inside a bucket
        if source is None:
            self._capacity = hashmap_capacity(initial_capacity)
            return
        items = list(source)
        # HashSet(Collection): new HashMap<>(max((int) (n / .75f) + 1, 16)), then addAll.
        self._capacity = table_size_for(max(int(len(items) / 0.75) + 1, 16))
        for key in items:
            self.add(key)

    @property
    def capacity(self) -> int:
        return self._capacity

    def add(self, key: Hashable) -> None:
        if key in self:
            return
        set.add(self, key)
        self._sequence[key] = None
        self._order = None
        self._capacity = _hashmap_grow(self._capacity, len(self), self._sequence, key)

    def discard(self, key: Hashable) -> None:
        if key in self:
            self.remove(key)

    def remove(self, key: Hashable) -> None:
        set.remove(self, key)
        del self._sequence[key]
        self._order = None

    def pop(self) -> Any:
        key = next(iter(self))
        self.remove(key)
        return key

    def clear(self) -> None:
        set.clear(self)
        self._sequence.clear()
        self._order = None

    def update(self, *others: Iterable[Hashable]) -> None:
        for other in others:
            for key in other:
                self.add(key)

    def _ordered(self) -> list:
        order = self._order
        if order is None:
            order = self._order = _hashmap_order(self._sequence, self._capacity)
        return order

    def __iter__(self) -> Iterator:
        return iter(self._ordered())

    def __repr__(self) -> str:
        return f"JavaHashSet({self._ordered()!r})"


def hashset_copy_order(keys: Iterable[Hashable]) -> list:
    """Iteration order of `new HashSet<>(collection)` for a collection iterating as `keys`."""
    keys = list(keys)
    if len(keys) < 2:
        return keys
    return JavaHashSet(keys)._ordered()


# ------------------------------------------------------------------------------------------------
# java.util.concurrent.ConcurrentHashMap


Node = tuple[int, Hashable]  # (spread hash, key)
Bins = dict[int, "Node | list[Node]"]


class _ChmTable:
    """The buckets of a ConcurrentHashMap, flat: its keys and their spread hashes in iteration
    order (by bucket, then link order within a bucket), with capacity, size and the size at
    which it resizes (`size_ctl`).

    Most changes work on the flat form directly:

    - large insertions by sorting (`_insert_sorted`): a few sorts in C instead of a Python step
      per key and per resize;
    - small insertions that cause no resize, and removals, by binary search for the bucket;
    - insertions into a table of fewer than 64 buckets (where a crowded bucket resizes the
      table) step by step on the bucket form (`_insert_simulated`), which is also the oracle of
      the other two.

    `JavaConcurrentHashMap` never changes a table it has put in place: it changes a `copy`, so
    another thread may read a table while the map goes on.
    """

    __slots__ = ("capacity", "hashes", "keys", "size", "size_ctl")

    #: Insertions of at least this many keys go through `_insert_sorted`.
    SORTED_BATCH = 64
    #: Removals of more keys than this filter the whole table once.
    FILTER_BATCH = 32

    def __init__(self, capacity: int) -> None:
        self.keys: list = []
        self.hashes: list[int] = []
        self.capacity = capacity
        self.size = 0
        self.size_ctl = capacity - (capacity >> 2)

    def copy(self) -> _ChmTable:
        copied = _ChmTable.__new__(_ChmTable)
        copied.keys = list(self.keys)
        copied.hashes = list(self.hashes)
        copied.capacity, copied.size, copied.size_ctl = self.capacity, self.size, self.size_ctl
        return copied

    def ordered(self) -> list:
        return list(self.keys)

    def insert_all(self, keys: Iterable[Hashable]) -> None:
        """Put keys that are not in the map (nor repeated), in this order."""
        keys = keys if type(keys) is list else list(keys)
        start = 0
        # Below 64 buckets a crowded bucket resizes the table: that needs the step by step path.
        while start < len(keys) and self.capacity < MIN_TREEIFY_CAPACITY:
            self._insert_simulated(keys[start : start + 1])
            start += 1
        rest = keys[start:] if start else keys
        if not rest:
            return
        if len(rest) >= self.SORTED_BATCH or self.size + len(rest) >= self.size_ctl:
            self._insert_sorted(rest)
        else:
            self._insert_bisected(rest)

    def _insert_bisected(self, new_keys: list) -> None:
        """`insert_all` of a few keys that cause no resize: each goes to the end of its bucket."""
        mask = self.capacity - 1
        keys, hashes = self.keys, self.hashes
        for key in new_keys:
            h = spread_hash(key)
            at = bisect_right(hashes, h & mask, key=lambda other: other & mask)
            keys.insert(at, key)
            hashes.insert(at, h)
        self.size += len(new_keys)

    def remove(self, key: Hashable) -> None:
        """Remove a key that is in the table; the other nodes of its bucket keep their order."""
        mask = self.capacity - 1
        index = spread_hash(key) & mask
        keys, hashes = self.keys, self.hashes
        at = bisect_left(hashes, index, key=lambda other: other & mask)
        while at < len(keys) and hashes[at] & mask == index:
            if keys[at] == key:
                del keys[at]
                del hashes[at]
                self.size -= 1
                return
            at += 1
        raise KeyError(key)

    def remove_all(self, keys: list) -> None:
        """Remove keys that are in the table (distinct), as `remove` one by one would."""
        if len(keys) <= self.FILTER_BATCH:
            for key in keys:
                self.remove(key)
            return
        dropped = set(keys)
        kept = _mapped(not_, _mapped(dropped.__contains__, self.keys))
        before = len(self.keys)
        self.keys = _compressed(self.keys, kept)
        self.hashes = _compressed(self.hashes, kept)
        if before - len(self.keys) != len(dropped):
            raise KeyError("remove_all takes keys that are in the table")
        self.size -= len(dropped)

    # The bucket form, for small tables: index -> its nodes in link order, a lone node as the
    # (spread hash, key) tuple itself and longer chains as lists of them.

    def _bins(self) -> Bins:
        bins: Bins = {}
        mask = self.capacity - 1
        get = bins.get
        for key, h in zip(self.keys, self.hashes, strict=True):
            index = h & mask
            chain = get(index)
            if chain is None:
                bins[index] = (h, key)
            elif type(chain) is tuple:
                bins[index] = [chain, (h, key)]
            else:
                chain.append((h, key))
        return bins

    def _set_bins(self, bins: Bins) -> None:
        keys: list = []
        hashes: list[int] = []
        for index in sorted(bins):
            chain = bins[index]
            if type(chain) is tuple:
                hashes.append(chain[0])
                keys.append(chain[1])
            else:
                for h, key in chain:
                    hashes.append(h)
                    keys.append(key)
        self.keys, self.hashes = keys, hashes

    def _insert_simulated(self, keys: Iterable[Hashable]) -> None:
        """`insert_all` one key and one resize at a time, as Java does (the oracle of
        `_insert_sorted` and `_insert_bisected`)."""
        bins = self._bins()
        mask = self.capacity - 1
        size = self.size
        size_ctl = self.size_ctl
        for key in keys:
            h = spread_hash(key)
            index = h & mask
            chain = bins.get(index)
            if chain is None:
                bins[index] = (h, key)
            elif type(chain) is tuple:
                bins[index] = [chain, (h, key)]
            else:
                old_length = len(chain)
                chain.append((h, key))
                if old_length >= TREEIFY_THRESHOLD and mask + 1 < MIN_TREEIFY_CAPACITY:
                    self.size = size
                    bins = self._presize(bins, (mask + 1) << 1)
                    mask, size_ctl = self.capacity - 1, self.size_ctl
            size += 1
            while size >= size_ctl and mask + 1 < MAXIMUM_CAPACITY:
                self.size = size
                bins = self._transfer(bins)
                mask, size_ctl = self.capacity - 1, self.size_ctl
        self.size = size
        self._set_bins(bins)

    def _insert_sorted(self, new_keys: list) -> None:
        """`insert_all` for a table of at least 64 buckets, by sorting.

        Between two resizes, a put appends to its bucket's chain: a stable sort by bucket of
        (table + keys put) is the table. A resize splits each chain by one hash bit; for chains
        of one or two nodes that split keeps the relative order (so the next stable sort, by
        the wider bucket, does it), and only the chains of three or more nodes, which Java may
        partly reverse, are split explicitly (`_split_chain`) before that sort.
        """
        keys, hashes = self.keys, self.hashes
        # Nodes are numbered (the table's first, in order, then the new keys); the sorts move
        # numbers, and the keys are looked up once at the end.
        present = len(keys)
        keys = keys + new_keys
        hashes = hashes + spread_hashes(new_keys)
        nodes = list(range(present))
        capacity, size, size_ctl = self.capacity, self.size, self.size_ctl
        total = len(keys)
        while True:
            take = min(max(size_ctl - size, 0), total - present)
            if take:
                nodes += range(present, present + take)
                present += take
                size += take
            # bucket of each node present, by node number
            buckets = _mapped((capacity - 1).__and__, hashes[:present])
            nodes.sort(key=buckets.__getitem__)
            if not (size >= size_ctl and capacity < MAXIMUM_CAPACITY):
                break
            in_order = _mapped(buckets.__getitem__, nodes)
            covered = 0
            for first in compress(range(len(in_order) - 2), map(eq, in_order, in_order[2:])):
                if first < covered:
                    continue  # inside a chain already split
                last = first + 3
                while last < len(in_order) and in_order[last] == in_order[first]:
                    last += 1
                covered = last
                chain = nodes[first:last]
                chain_hashes = list(map(hashes.__getitem__, chain))
                # Only nodes before the chain's last run are re-linked (reversed): the order
                # changes only if two of them go the same way.
                run_bit = chain_hashes[-1] & capacity
                run = len(chain) - 1
                while run > 0 and chain_hashes[run - 1] & capacity == run_bit:
                    run -= 1
                if run < 2 or (run == 2 and (chain_hashes[0] ^ chain_hashes[1]) & capacity):
                    continue
                moving = sum(1 for h in chain_hashes[:run] if h & capacity)
                if moving < 2 and run - moving < 2:
                    continue
                low, high = _split_chain(list(zip(chain_hashes, chain, strict=True)), capacity)
                nodes[first:last] = [node for _, node in low + high]
            size_ctl = (capacity << 1) - (capacity >> 1)
            capacity <<= 1
        self.keys = _mapped(keys.__getitem__, nodes)
        self.hashes = _mapped(hashes.__getitem__, nodes)
        self.capacity, self.size, self.size_ctl = capacity, size, size_ctl

    def _presize(self, bins: Bins, size: int) -> Bins:
        # tryPresize: double until the control size covers 1.5 * size + 1.
        wanted = table_size_for(size + (size >> 1) + 1)
        while wanted > self.size_ctl and self.capacity < MAXIMUM_CAPACITY:
            bins = self._transfer(bins)
        return bins

    def _transfer(self, old: Bins) -> Bins:
        n = self.capacity
        bins: Bins = {}
        for index, chain in old.items():
            if type(chain) is tuple:
                bins[index | (chain[0] & n)] = chain
                continue
            if len(chain) == 2:  # most chains: the same rule, spelled out
                first, second = chain
                first_bit, second_bit = first[0] & n, second[0] & n
                if first_bit == second_bit:
                    bins[index | first_bit] = chain
                else:
                    bins[index | first_bit] = first
                    bins[index | second_bit] = second
                continue
            low, high = _split_chain(chain, n)
            if low:
                bins[index] = low[0] if len(low) == 1 else low
            if high:
                bins[index | n] = high[0] if len(high) == 1 else high
        self.capacity = n << 1
        self.size_ctl = (n << 1) - (n >> 1)
        return bins


def _split_chain(chain: list[Node], n: int) -> tuple[list[Node], list[Node]]:
    """How a resize from `n` buckets splits one chain: (the nodes staying, the nodes moving up
    by `n`), each in its new link order.

    The longest tail whose nodes all go the same way is moved as is; the nodes before it are
    re-linked one by one at the head of their new bucket (so reversed).
    """
    run_bit = chain[-1][0] & n
    last_run = len(chain) - 1
    while last_run > 0 and chain[last_run - 1][0] & n == run_bit:
        last_run -= 1
    low: list[Node] = []
    high: list[Node] = []
    for node in chain[:last_run]:
        (high if node[0] & n else low).append(node)
    low.reverse()
    high.reverse()
    (high if run_bit else low).extend(chain[last_run:])
    return low, high


_PUT = "put"
_REMOVE = "remove"
#: A logged change to a map's keys: (_PUT or _REMOVE, the keys or a function giving them, count).
Change = tuple[str, Any, int]


def _settled(table: _ChmTable, changes: Iterable[Change]) -> _ChmTable:
    """A copy of `table` with `changes` applied in order (`table` itself is left alone)."""
    table = table.copy()
    for kind, keys, count in changes:
        ordered = list(keys()) if callable(keys) else keys
        if len(ordered) != count:
            raise RuntimeError(f"a deferred change gave {len(ordered)} keys, not {count}")
        if kind is _PUT:
            table.insert_all(ordered)
        else:
            table.remove_all(ordered)
    return table


class OrderJob:
    """A map's table and the changes logged after it, as they were when the job was made: `run`
    works out the settled table and its iteration order from them alone, so it may run in
    another thread while the map changes. `JavaConcurrentHashMap.adopt` takes the result."""

    __slots__ = ("base", "changes", "order")

    def __init__(self, base: _ChmTable, changes: tuple[Change, ...], order: list | None) -> None:
        self.base = base
        self.changes = changes
        self.order = order  # known already: nothing to work out

    def run(self) -> tuple[_ChmTable | None, list]:
        if self.order is not None:
            return None, self.order
        table = _settled(self.base, self.changes)
        return table, table.keys


class JavaConcurrentHashMap(_JavaOrderedDict):
    """A dict that iterates as `java.util.concurrent.ConcurrentHashMap` does after the same puts
    and removes.

    Changes to the key set are logged and reach the simulated table only when the order is
    needed: when the map is iterated (`_settle`), or in another thread through `order_job`,
    whose settled table `adopt` then puts in place. A registration of 100,000 new topics thus
    costs only its dict updates, and removing them only their deletions; the order work is done
    once, when a list is asked for. Batches put with `put_new` may even name their order by a
    function, called only then.
    """

    __slots__ = ("_order", "_pending", "_shared", "_table")

    #: Pending changes beyond this are applied at once, so that the log stays short.
    PENDING_LIMIT = 256

    def __init__(self, *, initial_capacity: int | None = None) -> None:
        super().__init__()
        #: The settled table: never changed in place (see `_ChmTable`).
        self._table = _ChmTable(chm_capacity(initial_capacity))
        self._order: list | None = None
        #: Changes not yet in `_table`, in order.
        self._pending: list[Change] = []
        #: Pending changes before this index belong to an `OrderJob` too: never extended.
        self._shared = 0

    @property
    def capacity(self) -> int:
        self._settle()
        return self._table.capacity

    def __setitem__(self, key: Hashable, value: Any) -> None:
        if key not in self:
            self._log_one(_PUT, key)
        dict.__setitem__(self, key, value)

    def put_new(
        self,
        items: dict | Iterable[tuple[Hashable, Any]],
        *,
        order: Callable[[], Iterable[Hashable]] | None = None,
    ) -> None:
        """Put many keys that are not in the map (one call instead of many).

        They were put in the order of `items` (a dict, or pairs), or in the order `order()`
        gives (the same keys), which is only called when the map's order is first needed.
        """
        if type(items) is not dict:
            items = list(items)  # type: ignore[arg-type]
            keys = [key for key, _ in items]
            if len(set(keys)) != len(keys):
                raise KeyError("put_new takes keys that are distinct")
        else:
            keys = list(items)
        if not dict.keys(self).isdisjoint(keys):
            raise KeyError("put_new takes keys that are new")
        dict.update(self, items)
        self._defer((_PUT, keys if order is None else order, len(keys)))

    def remove_all(self, keys: Iterable[Hashable]) -> None:
        """Remove many keys that are in the map (distinct), as removing them one by one would."""
        keys = list(keys)
        if len(set(keys)) != len(keys) or not all(map(self.__contains__, keys)):
            raise KeyError("remove_all takes keys that are in the map and distinct")
        deque(map(functools.partial(dict.__delitem__, self), keys), maxlen=0)
        self._defer((_REMOVE, keys, len(keys)))

    def _log_one(self, kind: str, key: Hashable) -> None:
        pending = self._pending
        if len(pending) > self._shared:
            last_kind, keys, count = pending[-1]
            if last_kind is kind and type(keys) is list:  # the same kind again: one change
                keys.append(key)
                pending[-1] = (kind, keys, count + 1)
                self._order = None
                return
        self._defer((kind, [key], 1))

    def _defer(self, change: Change) -> None:
        self._pending.append(change)
        self._order = None
        if len(self._pending) > self.PENDING_LIMIT:
            self._settle()

    def _settle(self) -> None:
        if not self._pending:
            return
        pending, self._pending, self._shared = self._pending, [], 0
        self._table = _settled(self._table, pending)

    def order_job(self) -> OrderJob:
        """The work of finding this map's order as it is now, to run anywhere (`OrderJob`)."""
        self._shared = len(self._pending)
        return OrderJob(self._table, tuple(self._pending), self._order)

    def without(self, keys: list, job: OrderJob) -> JavaConcurrentHashMap:
        """A new map: this one's entries but `keys` (which it holds), iterating as this one
        would after removing them; `job` is this map's `order_job()`, made when its entries
        were as they are now. For building a changed table in another thread while the loop
        goes on with this one (which is left alone): the loop then puts it in its place."""
        clone = type(self).__new__(type(self))
        # dict.update(clone, self) would call this class's keys(), which settles the map: in
        # another thread. The entries are read through dict's own view, a piece at a time.
        entries = iter(dict.items(self))
        while piece := list(islice(entries, _PIECE)):
            dict.update(clone, piece)
        delete = functools.partial(dict.__delitem__, clone)
        for start in range(0, len(keys), _PIECE):
            deque(map(delete, keys[start : start + _PIECE]), maxlen=0)
        clone._table = job.base
        clone._pending = [*job.changes, (_REMOVE, list(keys), len(keys))]
        clone._shared = len(clone._pending)  # the entries are this map's too: never extended
        clone._order = None
        return clone

    def adopt(self, job: OrderJob, table: _ChmTable | None) -> None:
        """Put the table `job` settled in place, unless the map was settled since the job was
        made; the changes logged after the job stay pending."""
        done = len(job.changes)
        if table is None or self._table is not job.base or len(self._pending) < done:
            return
        if any(a is not b for a, b in zip(self._pending, job.changes, strict=False)):
            return
        self._table = table
        del self._pending[:done]
        self._shared = max(self._shared - done, 0)
        if not self._pending:
            self._order = table.keys

    def __delitem__(self, key: Hashable) -> None:
        dict.__delitem__(self, key)
        self._log_one(_REMOVE, key)

    def setdefault(self, key: Hashable, default: Any = None) -> Any:
        if key in self:
            return dict.__getitem__(self, key)
        self[key] = default
        return default

    def pop(self, key: Hashable, *default: Any) -> Any:
        if key in self:
            value = dict.pop(self, key)
            self._log_one(_REMOVE, key)
            return value
        return dict.pop(self, key, *default)

    def popitem(self) -> tuple[Any, Any]:
        key = next(iter(self))
        return key, self.pop(key)

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def clear(self) -> None:  # Java keeps the table's capacity
        capacity = self.capacity
        dict.clear(self)
        self._table = _ChmTable(capacity)
        self._order = None

    def copy(self) -> dict:
        raise TypeError("copy a JavaConcurrentHashMap explicitly (Java has no copy constructor)")

    def _ordered(self) -> list:
        order = self._order
        if order is None:
            self._settle()
            order = self._order = self._table.keys  # the table is never changed in place
        return order


def chm_order(
    keys: Iterable[Hashable], *, initial_capacity: int | None = None, distinct: bool = False
) -> list:
    """Iteration order of a new ConcurrentHashMap (or `ConcurrentHashMap.newKeySet()`) after
    adding `keys` in this order; repeated keys keep their first place. `distinct`: the caller
    knows there are none (the keys of a map), which spares finding them."""
    table = _ChmTable(chm_capacity(initial_capacity))
    table.insert_all(keys if distinct else dict.fromkeys(keys))
    return table.keys
