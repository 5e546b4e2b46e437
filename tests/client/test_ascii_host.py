"""The blocking transport hands `getaddrinfo` ASCII hosts as the bytes the IDNA codec would make
of them (sparing the codec's import); every other host still goes through the codec."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from nsctl.client.sync_transport import _ascii_host

LABEL = st.text(alphabet="ab-_0.", max_size=70)
HOSTS = st.one_of(
    st.lists(LABEL, max_size=5).map(".".join),
    st.sampled_from(["127.0.0.1", "::1", "[::1]", "", ".", "a..b", "x" * 64, "é.example", "ß"]),
    st.text(max_size=20),
)


@given(HOSTS)
def test_bytes_only_where_the_idna_codec_gives_the_same_bytes(host):
    given_to_getaddrinfo = _ascii_host(host)
    try:
        by_codec = host.encode("idna")
    except UnicodeError:
        assert given_to_getaddrinfo == host  # the codec raises its own error, as before
        return
    assert given_to_getaddrinfo in (host, by_codec)
    if host.isascii():
        assert given_to_getaddrinfo == by_codec
