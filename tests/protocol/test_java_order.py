"""The Java iteration-order model against known Java facts and against a literal simulation."""

from __future__ import annotations

import itertools

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from nsctl.protocol.java_order import (
    JavaConcurrentHashMap,
    JavaHashMap,
    JavaHashSet,
    chm_capacity,
    chm_order,
    hashset_copy_order,
    long_hash,
    string_hash,
)
from tests.protocol.java_reference import ReferenceConcurrentHashMap, ReferenceHashMap


def signed(h: int) -> int:
    return h - (1 << 32) if h >= 1 << 31 else h


# ------------------------------------------------------------------------------------------------
# Known Java values


def test_string_hash_matches_java():
    assert signed(string_hash("")) == 0
    assert signed(string_hash("hello")) == 99162322
    assert signed(string_hash("polygenelubricants")) == -(2**31)  # Integer.MIN_VALUE
    assert string_hash("Aa") == string_hash("BB") == 2112
    # UTF-16 code units: a supplementary character counts as its two surrogates.
    assert string_hash("\U0001d11e") == (0xD834 * 31 + 0xDD1E)
    assert string_hash("abc") == 96354


def test_long_hash_matches_java():
    assert long_hash(0) == 0
    assert long_hash(1) == 1
    assert long_hash(-1) == 0  # (int)(-1L ^ (-1L >>> 32))
    assert long_hash(1 << 32) == 1


def test_capacities_match_java():
    assert chm_capacity(1024) == 2048  # RouteInfoManager's topicQueueTable
    assert chm_capacity(128) == 256
    assert chm_capacity(32) == 64
    assert chm_capacity() == 16
    m = JavaHashMap()
    for i in range(12):
        m[f"k{i}"] = i
    assert m.capacity == 16
    m["k12"] = 12  # the 13th entry exceeds 0.75 * 16
    assert m.capacity == 32
    c = JavaConcurrentHashMap()
    for i in range(11):
        c[f"k{i}"] = i
    assert c.capacity == 16
    c["k11"] = 11  # ConcurrentHashMap resizes on reaching 0.75 * 16
    assert c.capacity == 32
    assert JavaHashSet([f"k{i}" for i in range(12)]).capacity == 32  # (int)(12/.75f)+1 = 17
    # HashMap(Map) of 3 entries: tableSizeFor(3 / .75f + 1) = 8
    assert JavaHashMap.copy_of({i: str(i) for i in range(3)}).capacity == 8


def test_removal_never_shrinks_and_reinsertion_goes_to_the_tail():
    colliding = ["AaAa", "BBBB", "AaBB", "BBAa"]  # one hash, one bucket
    m = JavaHashMap()
    for key in colliding:
        m[key] = 1
    assert list(m) == colliding
    del m["AaAa"]
    m["AaAa"] = 2
    assert list(m) == ["BBBB", "AaBB", "BBAa", "AaAa"]
    for i in range(40):
        m[f"x{i}"] = i
    for i in range(40):
        del m[f"x{i}"]
    assert m.capacity == 64


def test_java_order_is_not_insertion_order():
    keys = [f"Topic{i:03d}" for i in range(50)]
    assert list(chm_order(keys)) != keys
    assert sorted(chm_order(keys)) == sorted(keys)


# ------------------------------------------------------------------------------------------------
# The fast model against the literal simulation

# Sixteen strings with one hash (blocks of "Aa"/"BB"): buckets that overflow and split.
SAME_HASH = ["".join(p) for p in itertools.product(["Aa", "BB"], repeat=4)]
KEYS = st.one_of(
    st.sampled_from(SAME_HASH),
    st.text(max_size=6),
    st.integers(0, 300).map(lambda i: f"Topic{i}"),
)
OPS = st.lists(st.tuples(st.booleans(), KEYS), max_size=300)


def run_ops(model, reference, ops) -> None:
    for insert, key in ops:
        if insert:
            if isinstance(model, JavaHashSet):
                model.add(key)
            else:
                model[key] = key
            reference.put(key)
        else:
            if isinstance(model, JavaHashSet):
                model.discard(key)
            else:
                model.pop(key, None)
            reference.remove(key)


@settings(max_examples=300, deadline=None)
@given(ops=OPS, initial=st.sampled_from([None, 1, 2, 16, 100]))
def test_hashmap_order_matches_reference(ops, initial):
    model = JavaHashMap() if initial is None else JavaHashMap.with_capacity(initial)
    reference = ReferenceHashMap(initial)
    run_ops(model, reference, ops)
    assume(not reference.treeified)
    assert list(model) == reference.order()
    assert list(model.values()) == reference.order()
    assert model.capacity == reference.capacity


@settings(max_examples=200, deadline=None)
@given(ops=OPS)
def test_hashset_order_matches_reference(ops):
    model, reference = JavaHashSet(), ReferenceHashMap()
    run_ops(model, reference, ops)
    assume(not reference.treeified)
    assert list(model) == reference.order()
    assert model == set(reference.order())


@settings(max_examples=300, deadline=None)
@given(ops=OPS, initial=st.sampled_from([None, 1, 16, 32, 128]))
def test_concurrent_hashmap_order_matches_reference(ops, initial):
    model, reference = (
        JavaConcurrentHashMap(initial_capacity=initial),
        ReferenceConcurrentHashMap(initial),
    )
    run_ops(model, reference, ops)
    assume(not reference.treeified)
    assert list(model) == reference.order()
    assert [k for k, _ in model.items()] == reference.order()


@settings(max_examples=200, deadline=None)
@given(keys=st.lists(KEYS, max_size=400))
def test_chm_order_matches_reference(keys):
    reference = ReferenceConcurrentHashMap()
    for key in keys:
        reference.put(key)
    assume(not reference.treeified)
    assert chm_order(keys) == reference.order()


@settings(max_examples=200, deadline=None)
@given(ops=OPS)
def test_copies_match_reference(ops):
    source = JavaHashMap()
    run_ops(source, ReferenceHashMap(), ops)
    keys = list(source)
    reference_set = ReferenceHashMap.hash_set_of(keys)
    reference_copy = ReferenceHashMap.copy_of(keys)
    assume(not reference_set.treeified and not reference_copy.treeified)
    assert hashset_copy_order(keys) == reference_set.order()
    assert list(JavaHashMap.copy_of(source)) == reference_copy.order()


@settings(max_examples=200, deadline=None)
@given(
    ids=st.lists(
        st.one_of(st.integers(0, 20), st.integers(-(2**63), 2**63 - 1)), max_size=30, unique=True
    )
)
def test_long_keys_match_reference(ids):
    """Broker ids: HashMap<Long, String>, and its copy (a route's BrokerData clone)."""
    model, reference = JavaHashMap(), ReferenceHashMap()
    for broker_id in ids:
        model[broker_id] = str(broker_id)
        reference.put(broker_id)
    assume(not reference.treeified)
    assert list(model) == reference.order()
    assert list(JavaHashMap.copy_of(model)) == ReferenceHashMap.copy_of(reference.order()).order()


@settings(max_examples=100, deadline=None)
@given(
    others=st.lists(st.integers(0, 60).map(lambda i: f"Topic{i}"), max_size=12),
    same=st.integers(9, 10),
    chm=st.booleans(),
)
def test_a_crowded_bucket_in_a_small_table_resizes(others, same, chm):
    """9 keys in one bucket of a table under 64: Java resizes instead of making a tree."""
    keys = [*others[: len(others) // 2], *SAME_HASH[:same], *others[len(others) // 2 :]]
    if chm:
        model, reference = JavaConcurrentHashMap(), ReferenceConcurrentHashMap()
    else:
        model, reference = JavaHashMap(), ReferenceHashMap()
    for key in keys:
        model[key] = key
        reference.put(key)
    assume(not reference.treeified)
    assert model.capacity >= 32
    assert list(model) == reference.order()


BATCH_OPS = st.lists(
    st.one_of(
        st.tuples(st.just("put"), KEYS),
        st.tuples(st.just("del"), KEYS),
        st.tuples(st.just("batch"), st.lists(KEYS, max_size=40), st.randoms()),
        st.tuples(st.just("look"), st.none()),
    ),
    max_size=60,
)


def change_both(model, reference, op) -> bool:
    """Apply a put, a removal or a batch put (`put_new` in a shuffled order) to the model and
    the reference; False for other ops."""
    if op[0] == "put":
        model[op[1]] = 1
        reference.put(op[1])
    elif op[0] == "del":
        model.pop(op[1], None)
        reference.remove(op[1])
    elif op[0] == "batch":
        fresh = [k for k in dict.fromkeys(op[1]) if k not in model]
        put_order = list(fresh)
        op[2].shuffle(put_order)
        model.put_new([(k, 2) for k in fresh], order=lambda o=put_order: o)
        for key in put_order:
            reference.put(key)
    else:
        return False
    return True


@settings(max_examples=300, deadline=None)
@given(ops=BATCH_OPS, limit=st.sampled_from([1, 3, 256]))
def test_deferred_batches_match_reference(ops, limit):
    """put_new batches, applied only when the order is needed, in the order their function
    gives: the same as putting them one by one then."""
    limited = type("Limited", (JavaConcurrentHashMap,), {"PENDING_LIMIT": limit})
    model = limited(initial_capacity=16)
    reference = ReferenceConcurrentHashMap(16)
    for op in ops:
        if not change_both(model, reference, op):
            assert list(model) == reference.order()
    assume(not reference.treeified)
    assert list(model) == reference.order()
    assert set(model) == set(dict.keys(model))


# Batches of up to 2,000 keys: chains of three and more, split at every resize.
BATCHES = st.builds(
    lambda start, count, kind, same: [
        *(f"Topic{i}" if kind else i * 0x9E3779B97F4A7C15 for i in range(start, start + count)),
        *SAME_HASH[:same],
    ],
    st.integers(0, 5000),
    st.integers(1, 2000),
    st.booleans(),
    st.integers(0, 5),
)
TABLE_OPS = st.lists(
    st.one_of(
        st.tuples(st.just("batch"), BATCHES),
        st.tuples(st.just("put"), st.integers(0, 8000).map(lambda i: f"Topic{i}")),
        st.tuples(st.just("del"), st.integers(0, 10_000)),
    ),
    max_size=6,
)


@settings(max_examples=60, deadline=None)
@given(ops=TABLE_OPS, initial=st.sampled_from([None, 64, 128, 1024]))
def test_sorted_insertion_matches_reference(ops, initial):
    """`_insert_sorted` (large batches) against the literal simulation, with removals and single
    puts before and after it, so that both forms of the table are converted into each other."""
    from nsctl.protocol.java_order import _ChmTable

    table = _ChmTable(chm_capacity(initial))
    reference = ReferenceConcurrentHashMap(initial)
    present: list = []
    for op, arg in ops:
        if op == "del":
            if present:
                key = present.pop(arg % len(present))
                table.remove(key)
                reference.remove(key)
        else:
            fresh = [k for k in dict.fromkeys(arg if op == "batch" else [arg]) if k not in present]
            if table.capacity < 64 or not fresh:
                table.insert_all(fresh)
            else:
                table._insert_sorted(fresh)
            for key in fresh:
                reference.put(key)
            present += fresh
        assume(not reference.treeified)
        assert table.ordered() == reference.order()
        assert table.size == len(present)
        if reference.table is not None:
            assert table.capacity == len(reference.table)


@settings(max_examples=200, deadline=None)
@given(
    keys=st.lists(
        st.one_of(
            st.text(st.characters(max_codepoint=127), max_size=40),
            st.text(max_size=8),
            st.integers(0, 10**6).map(lambda i: f"topic-{i:07d}"),
            st.integers(-(2**63), 2**63 - 1),
        ),
        max_size=300,
    ),
    same_length=st.integers(1, 80).flatmap(
        lambda n: st.lists(
            st.text(st.characters(max_codepoint=127), min_size=n, max_size=n),
            min_size=8,
            max_size=60,
        )
    ),
    fresh=st.booleans(),
)
def test_batch_hashes_match_one_by_one(keys, same_length, fresh):
    """`spread_hashes` (ASCII names hashed a column at a time) against `String.hashCode` per
    key, with the remembered hashes cleared or not."""
    from nsctl.protocol import java_order

    keys = keys + same_length  # names of one length: hashed together
    if fresh:
        java_order._HASH_CACHE.clear()
    expected = [java_order.spread(java_order.java_hash(k)) for k in keys]
    assert java_order.spread_hashes(keys) == expected
    assert java_order.spread_hashes(keys) == expected  # now remembered


JOB_OPS = st.lists(
    st.one_of(
        st.tuples(st.just("put"), KEYS),
        st.tuples(st.just("del"), KEYS),
        st.tuples(st.just("batch"), st.lists(KEYS, max_size=120), st.randoms()),
        st.tuples(st.just("drop"), st.integers(0, 200), st.randoms()),
        st.tuples(st.just("job"), st.none()),
        st.tuples(st.just("adopt"), st.integers(0, 10)),
        st.tuples(st.just("look"), st.none()),
    ),
    max_size=50,
)


@settings(max_examples=300, deadline=None)
@given(ops=JOB_OPS, initial=st.sampled_from([None, 16, 1024]))
def test_order_jobs_adopted_between_changes_match_reference(ops, initial):
    """Order jobs made at any point, run later (as another thread would) and adopted after
    further puts, removals and bulk removals: the map's order stays Java's, and every job's
    order is Java's order at the moment the job was made."""
    model = JavaConcurrentHashMap(initial_capacity=initial)
    reference = ReferenceConcurrentHashMap(initial)
    jobs = []
    for op in ops:
        if change_both(model, reference, op):
            continue
        if op[0] == "drop":
            present = list(dict.keys(model))
            op[2].shuffle(present)
            gone = present[: op[1]]
            model.remove_all(gone)
            for key in gone:
                reference.remove(key)
        elif op[0] == "job":
            jobs.append((model.order_job(), reference.order()))
        elif op[0] == "adopt" and jobs:
            job, expected = jobs.pop(op[1] % len(jobs))
            table, order = job.run()
            assert order == expected
            model.adopt(job, table)
        else:
            assert list(model) == reference.order()
    assume(not reference.treeified)
    assert list(model) == reference.order()
    assert set(model) == set(dict.keys(model))
    for job, expected in jobs:
        assert job.run()[1] == expected


def test_remove_all_refuses_keys_not_in_the_map_and_changes_nothing():
    model = JavaConcurrentHashMap()
    model.put_new([(f"t{i}", i) for i in range(100)])
    before = list(model)
    for bad in (["t1", "nope"], ["t1", "t1"]):
        try:
            model.remove_all(bad)
        except KeyError:
            pass
        else:
            raise AssertionError(f"remove_all({bad}) was accepted")
    assert list(model) == before and len(model) == 100
