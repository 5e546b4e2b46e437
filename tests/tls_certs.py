"""Throw-away certificates for TLS tests, made with the `openssl` command line.

`make_certificates(dir)` writes: ca.pem (a test CA), server.pem/server.key (signed by it, valid
for 127.0.0.1 and localhost), other-ca.pem (a CA that signed nothing here) and
self-signed.pem/self-signed.key (valid for 127.0.0.1, signed by nobody).

They carry the extensions RFC 5280 asks for, because Python 3.13 verifies with
VERIFY_X509_STRICT and refuses a CA without them ("CA cert does not include key usage
extension"): CAs have a critical basicConstraints CA:TRUE, a critical keyUsage keyCertSign and
cRLSign, and subject/authority key identifiers; servers have keyUsage digitalSignature and
keyEncipherment, extendedKeyUsage serverAuth, the subjectAltName, and key identifiers.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

_SAN = "subjectAltName=IP:127.0.0.1,DNS:localhost"
_CONFIG = """\
[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
"""
_EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


@dataclass(frozen=True)
class Certificates:
    ca: Path
    server_cert: Path
    server_key: Path
    other_ca: Path
    self_signed_cert: Path
    self_signed_key: Path


def make_certificates(directory: Path) -> Certificates:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command line is needed to make test certificates")
    d = directory

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], check=True, capture_output=True, timeout=60)

    config = d / "openssl.cnf"
    config.write_text(_CONFIG, encoding="ascii")
    for name in ("ca", "other-ca"):
        run("req", "-x509", *_EC, "-keyout", str(d / f"{name}.key"), "-out", str(d / f"{name}.pem"),
            "-days", "2", "-subj", f"/CN=nsctl {name}", "-config", str(config),
            "-extensions", "ca")  # fmt: skip
    run("req", *_EC, "-keyout", str(d / "server.key"), "-out", str(d / "server.csr"),
        "-subj", "/CN=127.0.0.1", "-config", str(config))  # fmt: skip
    run("x509", "-req", "-in", str(d / "server.csr"), "-CA", str(d / "ca.pem"),
        "-CAkey", str(d / "ca.key"), "-CAcreateserial", "-out", str(d / "server.pem"),
        "-days", "2", "-extfile", str(config), "-extensions", "server")  # fmt: skip
    run("req", "-x509", *_EC, "-keyout", str(d / "self-signed.key"),
        "-out", str(d / "self-signed.pem"), "-days", "2", "-subj", "/CN=127.0.0.1",
        "-config", str(config), "-extensions", "server")  # fmt: skip
    return Certificates(
        ca=d / "ca.pem",
        server_cert=d / "server.pem",
        server_key=d / "server.key",
        other_ca=d / "other-ca.pem",
        self_signed_cert=d / "self-signed.pem",
        self_signed_key=d / "self-signed.key",
    )
