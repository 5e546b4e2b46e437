"""The test certificates pass strict X.509 verification (Python 3.13's default), on any
Python: a real TLS handshake over a socket pair with VERIFY_X509_STRICT set explicitly."""

from __future__ import annotations

import socket
import ssl
import threading

import pytest

from tests.tls_certs import make_certificates


def handshake(client_context: ssl.SSLContext, cert, key) -> None:
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    left, right = socket.socketpair()
    errors: list[BaseException] = []

    def serve() -> None:
        try:
            with server_context.wrap_socket(right, server_side=True) as tls:
                tls.recv(1)
        except (ssl.SSLError, OSError) as error:
            errors.append(error)

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        with client_context.wrap_socket(left, server_hostname="127.0.0.1") as tls:
            tls.sendall(b"x")
    finally:
        left.close()
        thread.join(timeout=10)
        right.close()


def strict_client(cafile) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(cafile))
    context.verify_flags |= ssl.VERIFY_X509_STRICT
    return context


def test_server_certificate_verifies_strictly_against_the_test_ca(tmp_path):
    certs = make_certificates(tmp_path)
    handshake(strict_client(certs.ca), certs.server_cert, certs.server_key)


def test_strict_verification_still_refuses_the_wrong_ca(tmp_path):
    certs = make_certificates(tmp_path)
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(strict_client(certs.other_ca), certs.server_cert, certs.server_key)
