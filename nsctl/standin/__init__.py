"""Stand-in brokers: small real brokers on loopback for `serve --demo`, `registerBroker
--listen` and tests.

- `tables`: the topic and subscription-group tables and how a 5.3.3 broker answers on them
  (pure);
- `broker`: `StandInBroker`, those tables on a TCP port, registered on NameServers;
- `runner`: `StandInBrokers`, many stand-ins on one loop thread for blocking callers.

This package may use both `nsctl.server` (the listening side) and `nsctl.client` (the broker
agent that registers), which never import each other.
"""

from __future__ import annotations

from nsctl.standin.broker import BEHAVIOURS, StandInBroker, with_opaque
from nsctl.standin.runner import StandInBrokers
from nsctl.standin.tables import VERSION_DESC, BrokerTables

__all__ = [
    "BEHAVIOURS",
    "VERSION_DESC",
    "BrokerTables",
    "StandInBroker",
    "StandInBrokers",
    "with_opaque",
]
