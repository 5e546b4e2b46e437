"""TLS on the client side: the context from simple settings, and why a handshake failed.

Imported only when TLS is asked for: `import ssl` costs about 10 ms, which every plaintext
command would otherwise pay.
"""

from __future__ import annotations

import os
import ssl


def client_context(
    *, ca_file: str | os.PathLike[str] | None = None, insecure: bool = False
) -> ssl.SSLContext:
    """A context that verifies the server against `ca_file` (else the system's CAs), host name
    included; `insecure` verifies nothing, for self-signed test clusters.

    Raises ValueError when the CA file cannot be read.
    """
    try:
        context = ssl.create_default_context(cafile=None if ca_file is None else os.fspath(ca_file))
    except (OSError, ssl.SSLError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ValueError(f"cannot load the TLS CA file {ca_file}: {reason}") from exc
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def describe_handshake_failure(exc: BaseException) -> str | None:
    """One readable reason for a failed handshake, or None when `exc` is no TLS failure."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"the server's certificate was not accepted: {exc.verify_message}"
    if isinstance(exc, (ssl.SSLEOFError, ssl.SSLZeroReturnError, ConnectionResetError)):
        return "the server closed the connection during the handshake (does it accept TLS?)"
    if isinstance(exc, ssl.SSLError):
        return exc.reason or str(exc)
    return None
