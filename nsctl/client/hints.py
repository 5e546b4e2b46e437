"""What the blocking and the asyncio transport share for their errors: the bytes of a request
(a value that cannot be sent is a NameServerUsageError, nothing is sent), and hints for their
messages: what the peer probably is when it does not speak the remoting protocol.

Two mistakes look alike from the client's side and deserve a word:

* a plaintext client talking to a TLS-only server: the server closes (or resets) the connection
  without a byte of answer, or sends a TLS alert record;
* an address that is not a NameServer at all, such as an HTTP port: its first four bytes
  ("HTTP") read as a frame length far beyond any limit.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from nsctl.client.errors import usage_error
from nsctl.protocol.codes import code_name
from nsctl.protocol.frame import encode

if TYPE_CHECKING:
    from nsctl.protocol.acl import Credentials
    from nsctl.protocol.command import RemotingCommand

TLS_HINT = "(is it TLS? try --tls)"
NOT_NAMESERVER_HINT = "(not a NameServer?)"

#: How many of a connection's first bytes the transports keep for `invalid_frame`.
HEAD_BYTES = 32

# TLS record types (change_cipher_spec, alert, handshake, application_data), then major version 3.
_TLS_RECORD_TYPES = frozenset({0x14, 0x15, 0x16, 0x17})


def request_frame(command: RemotingCommand, credentials: Credentials | None) -> bytes:
    """The frame to send for `command`, signed with `credentials`; NameServerUsageError when a
    value of it cannot be sent (a header over the 24-bit length field, a lone surrogate, a
    number that does not fit its field)."""
    if credentials is not None:
        # Imported only to sign: most command lines sign nothing and should not pay for it.
        from nsctl.protocol.acl import sign_command

        command = sign_command(command, credentials)
    try:
        return encode(command)
    except (ValueError, OverflowError, struct.error) as exc:
        raise usage_error(exc, _name(command.code)) from exc


def _name(code: object) -> str:
    try:
        return code_name(int(code), response=False)  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        return f"request code {code!r}"


def closed_before_answer(address: str, *, reset: bool, tls: bool) -> str:
    """The connection ended before a single byte of the answer came in."""
    text = f"{address} {'reset' if reset else 'closed'} the connection before answering"
    return text if tls else f"{text} {TLS_HINT}"


def invalid_frame(address: str, error: object, head: bytes, *, tls: bool) -> str:
    """The peer's bytes are not a frame; `head` is the first bytes of the connection."""
    text = f"{address} sent an invalid frame: {error}"
    hint = _stream_hint(head, tls=tls)
    return f"{text}; {hint}" if hint else text


def _stream_hint(head: bytes, *, tls: bool) -> str | None:
    if not tls and len(head) >= 2 and head[0] in _TLS_RECORD_TYPES and head[1] == 0x03:
        return f"it starts with a TLS record {TLS_HINT}"
    if len(head) >= 4 and all(_printable(byte) for byte in head[:4]):
        # No frame length is four printable characters: 0x20202020 is 512 MiB, past any limit.
        cut = next((i for i, byte in enumerate(head) if not _printable(byte)), len(head))
        return f"it starts with {head[:cut].decode('ascii')!r} {NOT_NAMESERVER_HINT}"
    return None


def _printable(byte: int) -> bool:
    return 0x20 <= byte < 0x7F
