"""Long-running commands (watch, registerBroker) ask the address server again now and then,
as the Java client does every 2 minutes, so a NameServer list changed there is followed."""

from __future__ import annotations

import os
import sys
import time

from nsctl.cli.target import Target

#: Seconds between two lookups; the environment variable exists for tests and impatient people.
ENV_REFRESH = "NSCTL_ADDRESS_SERVER_REFRESH"
DEFAULT_REFRESH_SECONDS = 120.0


def refresh_period() -> float:
    text = os.environ.get(ENV_REFRESH, "").strip()
    try:
        period = float(text) if text else DEFAULT_REFRESH_SECONDS
    except ValueError:
        period = DEFAULT_REFRESH_SECONDS
    return period if period > 0 else DEFAULT_REFRESH_SECONDS


class AddressRefresher:
    """Tells, when asked, whether the address server now answers a different list."""

    def __init__(self, target: Target, period: float | None = None) -> None:
        self.url = target.address_server_url
        self.timeout = target.timeout
        self.period = refresh_period() if period is None else period
        self.current = list(target.addresses)
        self.next_lookup = time.monotonic() + self.period

    @property
    def due(self) -> bool:
        return self.url is not None and time.monotonic() >= self.next_lookup

    async def changed(self) -> list[str] | None:
        """The new list when it is due and differs; None otherwise. A failed lookup keeps the
        list in use (one stderr line), as the Java client does."""
        if not self.due:
            return None
        import asyncio

        from nsctl.client.discovery import fetch_from_address_server
        from nsctl.client.errors import NameServerError

        assert self.url is not None
        self.next_lookup = time.monotonic() + self.period
        try:
            addresses = await asyncio.to_thread(
                fetch_from_address_server, self.url, timeout=self.timeout
            )
        except NameServerError as error:
            print(f"nsctl: keeping the NameServer list: {error}", file=sys.stderr, flush=True)
            return None
        if addresses == self.current:
            return None
        self.current = addresses
        return addresses
