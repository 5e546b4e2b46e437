"""The unregister model (`nsctl.protocol.unregister`) against a real `serve`: for random broker
tables and random UNREGISTER_BROKER requests (right and wrong cluster, id and address), what the
model predicts from the cluster table before is what the server's cluster table shows after.
The CLI's unregisterBroker reports with the same model."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from nsctl.client import NameServerClient
from nsctl.protocol.register import TopicConfig
from nsctl.protocol.unregister import unregister_effect
from nsctl.server import EmbeddedNameServer

CLUSTERS = ("C1", "C2")
NAMES = ("broker-a", "broker-b")
ADDRESSES = ("127.0.0.1:10911", "127.0.0.1:10921", "127.0.0.1:10931")
#: Two topics: a 5.3.3 NameServer refuses a first registration that carries exactly one.
TOPICS = {"T": TopicConfig("T", 1, 1), "U": TopicConfig("U", 1, 1)}

BROKERS = st.lists(
    st.tuples(
        st.sampled_from(CLUSTERS),
        st.sampled_from(NAMES),
        st.integers(0, 2),
        st.sampled_from(ADDRESSES),
    ),
    min_size=1,
    max_size=5,
    unique_by=lambda b: (b[1], b[2]),  # one address per (name, id), as brokers register
)
REQUEST = st.tuples(
    st.sampled_from((*CLUSTERS, "Other")),
    st.sampled_from((*NAMES, "ghost")),
    st.integers(0, 3),
    st.sampled_from(ADDRESSES),
)


def table(client: NameServerClient):
    info = client.get_broker_cluster_info()
    addrs = {name: dict(b.broker_addrs) for name, b in info.broker_addr_table.items()}
    members = {c: sorted(names) for c, names in info.cluster_addr_table.items()}
    return addrs, members


@settings(max_examples=40)
@given(BROKERS, REQUEST)
def test_the_model_predicts_what_serve_does(brokers, request):
    cluster, name, broker_id, address = request
    with EmbeddedNameServer(host="127.0.0.1", port=0, kv_config_path=None) as ns:
        clients = []
        try:
            for c, n, i, a in brokers:
                client = NameServerClient(ns.address)
                clients.append(client)  # a registration lives as long as its connection
                client.register_broker(cluster_name=c, broker_name=n, broker_addr=a, broker_id=i,
                                       topic_configs=TOPICS)  # fmt: skip
            with NameServerClient(ns.address) as admin:
                addrs, members = table(admin)
                effect = unregister_effect(
                    addrs.get(name), members, cluster_name=cluster, broker_name=name,
                    broker_addr=address,
                )  # fmt: skip
                admin.unregister_broker(cluster_name=cluster, broker_name=name,
                                        broker_addr=address, broker_id=broker_id)  # fmt: skip
                after_addrs, after_members = table(admin)
        finally:
            for client in clients:
                client.close()
    before = addrs.get(name, {})
    assert {i for i, a in before.items() if a == address} == set(effect.removed_ids)
    assert (
        after_addrs.get(name, {})
        == {i: a for i, a in before.items() if i not in effect.removed_ids}
        or effect.group_removed
    )
    assert (name not in after_addrs) == (effect.group_removed or name not in addrs)
    assert (cluster in members and cluster not in after_members) == effect.cluster_removed
    for stale in effect.stale_in:  # the name stays listed where the request did not look
        assert name in after_members.get(stale, [])
