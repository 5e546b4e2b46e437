"""What a 5.3.3 NameServer does with UNREGISTER_BROKER, as a pure function of its cluster table:
`serve` applies it to its tables, and `nsctl unregisterBroker` predicts and reports with it.

The rules (RouteInfoManager.unRegisterBroker): every broker id of `brokerName` that holds
`brokerAddr` is removed, whatever `brokerId` the request names; a broker group left without
addresses goes, and so does its name in the cluster the request names (and that cluster when it
is left empty). The live entry is keyed by (cluster, address): a request naming another cluster
than the broker's own leaves it, and leaves the broker's name in its real cluster with no
addresses behind it (the broker's expiry cannot clean that up either, since its address is gone
from the table it would be looked up in).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class UnregisterEffect:
    #: Broker ids whose address goes (empty: the NameServer changes nothing of the tables).
    removed_ids: tuple[int, ...]
    #: The broker group is gone (it had no other address).
    group_removed: bool
    #: The cluster named by the request is gone (it had no other broker group).
    cluster_removed: bool
    #: Clusters other than the request's that list the group, and keep listing its name with
    #: no addresses behind it once the group is removed.
    stale_in: tuple[str, ...]

    @property
    def removed(self) -> bool:
        return bool(self.removed_ids)


def unregister_effect(
    broker_addrs: Mapping[int, str] | None,
    cluster_members: Mapping[str, Collection[str]],
    *,
    cluster_name: str,
    broker_name: str,
    broker_addr: str,
) -> UnregisterEffect:
    """The effect of unregistering (`cluster_name`, `broker_name`, `broker_addr`) given the
    group's current addresses by id (None: no such group) and every cluster's broker names."""
    addrs = dict(broker_addrs or {})
    removed = tuple(sorted(i for i, a in addrs.items() if a == broker_addr))
    group_removed = bool(addrs) and len(removed) == len(addrs)
    cluster_removed = False
    stale: tuple[str, ...] = ()
    if group_removed:
        members = cluster_members.get(cluster_name)
        cluster_removed = members is not None and set(members) <= {broker_name}
        stale = tuple(
            sorted(
                c
                for c, names in cluster_members.items()
                if c != cluster_name and broker_name in names
            )
        )
    return UnregisterEffect(removed, group_removed, cluster_removed, stale)
