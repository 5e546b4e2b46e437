"""Slow, literal simulations of Java's HashMap and ConcurrentHashMap: the oracle for java_order.

Each keeps a real bucket array of linked nodes and follows the JDK's put, remove and resize steps
one by one (HashMap.putVal/resize/treeifyBin, ConcurrentHashMap.putVal/addCount/transfer/
tryPresize), sharing nothing with `nsctl.protocol.java_order` but the hash of a key. `treeified`
turns true when Java would turn a bucket into a tree, which neither side models.
"""

from __future__ import annotations

from collections.abc import Hashable

from nsctl.protocol.java_order import java_hash


class Node:
    __slots__ = ("hash", "key", "next")

    def __init__(self, h: int, key: Hashable, nxt: Node | None = None) -> None:
        self.hash = h
        self.key = key
        self.next = nxt


def _spread(key: Hashable) -> int:
    h = java_hash(key)
    return (h ^ (h >> 16)) & 0xFFFFFFFF


def _chain(first: Node | None) -> list:
    keys = []
    while first is not None:
        keys.append(first.key)
        first = first.next
    return keys


def _table_size_for(c: int) -> int:
    n = 1
    while n < c:
        n *= 2
    return n


class ReferenceHashMap:
    def __init__(self, initial_capacity: int | None = None) -> None:
        self.table: list[Node | None] | None = None
        self.size = 0
        self.threshold = 0 if initial_capacity is None else _table_size_for(initial_capacity)
        self.treeified = False

    @classmethod
    def copy_of(cls, keys: list) -> ReferenceHashMap:
        """`new HashMap<>(map)` of a map iterating as `keys` (putMapEntries)."""
        copy = cls()
        if keys:
            t = int(len(keys) / 0.75 + 1.0)
            if t > copy.threshold:
                copy.threshold = _table_size_for(t)
        for key in keys:
            copy.put(key)
        return copy

    @classmethod
    def hash_set_of(cls, keys: list) -> ReferenceHashMap:
        """`new HashSet<>(collection)`."""
        copy = cls(max(int(len(keys) / 0.75) + 1, 16))
        for key in keys:
            copy.put(key)
        return copy

    def _resize(self) -> None:
        old = self.table
        old_cap = 0 if old is None else len(old)
        if old_cap > 0:
            new_cap = old_cap * 2
            new_thr = self.threshold * 2 if old_cap >= 16 else int(new_cap * 0.75)
        elif self.threshold > 0:
            new_cap = self.threshold
            new_thr = int(new_cap * 0.75)
        else:
            new_cap, new_thr = 16, 12
        self.threshold = new_thr
        table: list[Node | None] = [None] * new_cap
        for j in range(old_cap):
            e = old[j]
            lo_head = lo_tail = hi_head = hi_tail = None
            while e is not None:
                nxt = e.next
                e.next = None
                if e.hash & old_cap == 0:
                    if lo_tail is None:
                        lo_head = e
                    else:
                        lo_tail.next = e
                    lo_tail = e
                else:
                    if hi_tail is None:
                        hi_head = e
                    else:
                        hi_tail.next = e
                    hi_tail = e
                e = nxt
            table[j] = lo_head
            table[j + old_cap] = hi_head
        self.table = table

    def put(self, key: Hashable) -> None:
        if self.table is None:
            self._resize()
        h = _spread(key)
        i = h & (len(self.table) - 1)
        p = self.table[i]
        if p is None:
            self.table[i] = Node(h, key)
        else:
            bin_count = 0
            while True:
                if p.key == key:
                    return
                if p.next is None:
                    p.next = Node(h, key)
                    if bin_count >= 7:
                        if len(self.table) < 64:
                            self._resize()
                        else:
                            self.treeified = True
                    break
                p = p.next
                bin_count += 1
        self.size += 1
        if self.size > self.threshold:
            self._resize()

    def remove(self, key: Hashable) -> None:
        if self.table is None:
            return
        i = _spread(key) & (len(self.table) - 1)
        prev, e = None, self.table[i]
        while e is not None:
            if e.key == key:
                if prev is None:
                    self.table[i] = e.next
                else:
                    prev.next = e.next
                self.size -= 1
                return
            prev, e = e, e.next

    def order(self) -> list:
        return [k for first in (self.table or []) for k in _chain(first)]

    @property
    def capacity(self) -> int:
        return len(self.table) if self.table is not None else _table_size_for(self.threshold or 16)


class ReferenceConcurrentHashMap:
    def __init__(self, initial_capacity: int | None = None) -> None:
        self.table: list[Node | None] | None = None
        self.count = 0
        # JDK 11+: ConcurrentHashMap(n) -> ConcurrentHashMap(n, 0.75f, 1).
        self.size_ctl = (
            0 if initial_capacity is None else _table_size_for(int(1.0 + initial_capacity / 0.75))
        )
        self.treeified = False

    def _init_table(self) -> None:
        n = self.size_ctl if self.size_ctl > 0 else 16
        self.table = [None] * n
        self.size_ctl = n - (n >> 2)

    def _transfer(self) -> None:
        tab = self.table
        n = len(tab)
        nxt: list[Node | None] = [None] * (n << 1)
        for i in range(n - 1, -1, -1):
            f = tab[i]
            if f is None:
                continue
            run_bit = f.hash & n
            last_run = f
            p = f.next
            while p is not None:
                b = p.hash & n
                if b != run_bit:
                    run_bit = b
                    last_run = p
                p = p.next
            if run_bit == 0:
                ln, hn = last_run, None
            else:
                hn, ln = last_run, None
            p = f
            while p is not last_run:
                if p.hash & n == 0:
                    ln = Node(p.hash, p.key, ln)
                else:
                    hn = Node(p.hash, p.key, hn)
                p = p.next
            nxt[i] = ln
            nxt[i + n] = hn
        self.table = nxt
        self.size_ctl = (n << 1) - (n >> 1)

    def _try_presize(self, size: int) -> None:
        c = _table_size_for(size + (size >> 1) + 1)
        while True:
            if c <= self.size_ctl:
                break
            self._transfer()

    def put(self, key: Hashable) -> None:
        if self.table is None:
            self._init_table()
        h = _spread(key) & 0x7FFFFFFF
        n = len(self.table)
        i = h & (n - 1)
        f = self.table[i]
        bin_count = 0
        if f is None:
            self.table[i] = Node(h, key)
        else:
            bin_count = 1
            e = f
            while True:
                if e.key == key:
                    return
                pred = e
                e = e.next
                if e is None:
                    pred.next = Node(h, key)
                    break
                bin_count += 1
            if bin_count >= 8:
                if n < 64:
                    self._try_presize(n << 1)
                else:
                    self.treeified = True
        self.count += 1
        while self.count >= self.size_ctl:
            self._transfer()

    def remove(self, key: Hashable) -> None:
        if self.table is None:
            return
        i = (_spread(key) & 0x7FFFFFFF) & (len(self.table) - 1)
        prev, e = None, self.table[i]
        while e is not None:
            if e.key == key:
                if prev is None:
                    self.table[i] = e.next
                else:
                    prev.next = e.next
                self.count -= 1
                return
            prev, e = e, e.next

    def order(self) -> list:
        return [k for first in (self.table or []) for k in _chain(first)]
