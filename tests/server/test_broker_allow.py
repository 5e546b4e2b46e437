"""`serve --broker-allow` / `nsctl.brokerAllow` / `--broker-require-cert`: broker-side writes
only from listed sources (and certified peers); reads stay open. Real processes, real sockets:
the client socket is bound to 127.0.0.2 to come from outside the list."""

from __future__ import annotations

import socket
import ssl
import subprocess
import sys
import time

import pytest

from nsctl.protocol import frame
from nsctl.protocol.codes import RequestCode, ResponseCode
from nsctl.protocol.command import RemotingCommand
from nsctl.protocol.frame import FrameDecoder
from nsctl.server.dispatch import BROKER_WRITE_CODES
from tests.server.test_metrics import metrics_url, moved, plain, req, scrape
from tests.server.wire import register_request, request
from tests.tls_certs import _CONFIG, make_certificates

C = RequestCode
ROGUE = "127.0.0.2"


def loopback_alias_works() -> bool:
    try:
        with socket.socket() as sock:
            sock.bind((ROGUE, 0))
        return True
    except OSError:
        return False


pytestmark = pytest.mark.skipif(not loopback_alias_works(), reason="cannot bind 127.0.0.2")


class Client:
    """Raw frames over one connection from a chosen source address (optionally TLS)."""

    def __init__(self, address: str, source: str = "127.0.0.1", context=None) -> None:
        host, _, port = address.rpartition(":")
        sock = socket.create_connection((host, int(port)), timeout=5, source_address=(source, 0))
        self.sock = context.wrap_socket(sock, server_hostname=host) if context is not None else sock
        self.decoder = FrameDecoder()

    def call(self, command: RemotingCommand) -> RemotingCommand:
        self.sock.sendall(frame.encode(command))
        while True:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            answers = self.decoder.feed(chunk)
            if answers:
                return answers[0]

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


ROGUE_REGISTRATION = {
    "broker_name": "rogue-broker",
    "broker_addr": "127.0.0.2:10911",
    "topics": {"TopicTest": 8, "RogueTopic": 8},
}
BROKER_EXT = {"brokerName": "rogue-broker", "brokerAddr": "127.0.0.2:10911"}
BROKER_EXT["clusterName"] = "DefaultCluster"
WRITES = {
    C.REGISTER_BROKER: lambda: register_request(**ROGUE_REGISTRATION),
    C.UNREGISTER_BROKER: lambda: request(104, {**BROKER_EXT, "brokerAddr": "127.0.0.1:10911"}),
    C.BROKER_HEARTBEAT: lambda: request(904, {**BROKER_EXT, "brokerAddr": "127.0.0.1:10911"}),
    C.QUERY_DATA_VERSION: lambda: request(322, {**BROKER_EXT, "brokerAddr": "127.0.0.1:10911"}),
    C.REGISTER_TOPIC_IN_NAMESRV: lambda: request(217, {"topic": "TopicTest"}, b"{}"),
}


def test_the_broker_write_codes_are_the_documented_five():
    assert set(WRITES) == set(BROKER_WRITE_CODES)


def test_registration_from_outside_is_refused_and_from_inside_accepted(serve_process_factory):
    process = serve_process_factory("--broker-allow", "127.0.0.1/32,10.0.0.0/8")
    with Client(process.address, ROGUE) as rogue:
        answer = rogue.call(register_request(**ROGUE_REGISTRATION))
        assert answer.code == ResponseCode.NO_PERMISSION == 16
        assert answer.remark == (
            "REGISTER_BROKER refused for 127.0.0.2: allowed from 127.0.0.1, 10.0.0.0/8 "
            "(nsctl serve --broker-allow)"
        )
        # Reads stay open to the same peer.
        assert rogue.call(request(106)).code == 0
        assert rogue.call(request(105, {"topic": "TopicTest"})).code == 17
    with Client(process.address) as broker:
        assert broker.call(register_request()).code == 0
        assert broker.call(request(105, {"topic": "TopicTest"})).code == 0
        with Client(process.address, ROGUE) as rogue:
            for code, make in WRITES.items():
                assert rogue.call(make()).code == 16, C(code).name
        # The real broker is still there, untouched by the refused unregister.
        assert broker.call(request(105, {"topic": "TopicTest"})).code == 0
    log = process.log_text()
    assert "broker write REGISTER_BROKER refused for 127.0.0.2 (claimed broker_name " in log
    assert "rogue-broker" in log and "broker_addr 127.0.0.2:10911" in log


def test_refused_registration_changes_no_route_no_cache_entry_no_metric(serve_process_factory):
    process = serve_process_factory("--broker-allow", "127.0.0.1", "--metrics-port", "0")
    url = metrics_url(process)
    with Client(process.address) as broker:
        assert broker.call(register_request(topics={"TopicTest": 4, "TBW102": 8})).code == 0
        route = broker.call(request(105, {"topic": "TopicTest"}))
        assert broker.call(request(105, {"topic": "TopicTest"})).body == route.body  # cached
        cluster = broker.call(request(106)).body
        before = scrape(url)
        with Client(process.address, ROGUE) as rogue:
            assert rogue.call(register_request(**ROGUE_REGISTRATION)).code == 16
        connections = ("nsctl_connections", ())
        deadline = time.monotonic() + 5
        after = scrape(url)
        # The rogue's own connection is counted until the server has seen it close.
        while after.get(connections) != before.get(connections) and time.monotonic() < deadline:
            time.sleep(0.02)
            after = scrape(url)
        changes = moved(before, after)
        traffic = {
            plain("nsctl_received_bytes_total"),
            plain("nsctl_sent_bytes_total"),
            req("REGISTER_BROKER", "NO_PERMISSION"),
            ("nsctl_request_duration_seconds_count", (("code", "REGISTER_BROKER"),)),
        }
        timing = {k for k in changes if k[0].endswith(("_bucket", "_sum"))}
        refusal = ("nsctl_broker_write_refusals_total", (("code", "REGISTER_BROKER"),))
        assert {k: v for k, v in changes.items() if k not in traffic | timing} == {refusal: 1}
        assert changes[req("REGISTER_BROKER", "NO_PERMISSION")] == 1
        # The cached answers are still the answers: the next route query is a hit.
        assert broker.call(request(105, {"topic": "TopicTest"})).body == route.body
        assert broker.call(request(106)).body == cluster
        final = moved(after, scrape(url))
        assert final[plain("nsctl_answer_cache_hits_total")] == 2
        assert plain("nsctl_answer_cache_misses_total") not in final
    assert b"rogue" not in route.body


def test_properties_key_and_command_line_precedence(serve_process_factory, tmp_path):
    properties = tmp_path / "namesrv.properties"
    properties.write_text("nsctl.brokerAllow = 127.0.0.1/32 , 10.1.0.0/16\n")
    process = serve_process_factory("-c", str(properties))
    with Client(process.address, ROGUE) as rogue:
        assert rogue.call(register_request(**ROGUE_REGISTRATION)).code == 16
        config = rogue.call(request(319)).body.decode()
    assert "brokerAllow" not in config  # not reported to readers
    opened = serve_process_factory("-c", str(properties), "--broker-allow", "127.0.0.0/8")
    with Client(opened.address, ROGUE) as rogue:
        assert rogue.call(register_request(**ROGUE_REGISTRATION)).code == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--broker-allow", "10.0.0.0/8,"], "--broker-allow: empty entry"),
        (["--broker-allow", "10.0.0.1/8"], "--broker-allow: not an address or CIDR block"),
        (["--broker-allow", "nonsense"], "--broker-allow: not an address or CIDR block"),
    ],
)
def test_bad_broker_allow_exits_2(tmp_path, args, message):
    result = subprocess.run(
        [sys.executable, "-m", "nsctl.cli.main", "serve", "--port", "0", *args],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert message in result.stderr


def test_bad_properties_key_exits_2(tmp_path):
    properties = tmp_path / "namesrv.properties"
    properties.write_text("nsctl.brokerAllow=10.0.0.0/33\n")
    result = subprocess.run(
        [sys.executable, "-m", "nsctl.cli.main", "serve", "--port", "0", "-c", str(properties)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "nsctl.brokerAllow: not an address or CIDR block" in result.stderr


# --------------------------------------------------------------------------------------------
# --broker-require-cert


_CLIENT_EXT = """
[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
"""


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    directory = tmp_path_factory.mktemp("broker-certs")
    made = make_certificates(directory)
    config = directory / "client.cnf"
    config.write_text(_CONFIG + _CLIENT_EXT)
    for name, ca in (("broker", "ca"), ("stranger", "other-ca")):
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        subprocess.run(
            ["openssl", "req", *ec, "-keyout", str(directory / f"{name}.key"),
             "-out", str(directory / f"{name}.csr"), "-subj", f"/CN={name}",
             "-config", str(config)],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        subprocess.run(
            ["openssl", "x509", "-req", "-in", str(directory / f"{name}.csr"),
             "-CA", str(directory / f"{ca}.pem"), "-CAkey", str(directory / f"{ca}.key"),
             "-CAcreateserial", "-out", str(directory / f"{name}.pem"), "-days", "2",
             "-extfile", str(config), "-extensions", "client"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
    return made, directory


def tls_context(certs, name: str | None) -> ssl.SSLContext:
    made, directory = certs
    context = ssl.create_default_context(cafile=str(made.ca))
    if name is not None:
        context.load_cert_chain(directory / f"{name}.pem", directory / f"{name}.key")
    return context


def test_broker_require_cert(serve_process_factory, certs):
    made, _ = certs
    process = serve_process_factory(
        *("--tls-cert", str(made.server_cert), "--tls-key", str(made.server_key)),
        *("--broker-require-cert", str(made.ca)),
    )
    with Client(process.address, context=tls_context(certs, "broker")) as broker:
        assert broker.call(register_request()).code == 0
    with Client(process.address, context=tls_context(certs, None)) as anonymous:
        answer = anonymous.call(register_request(**ROGUE_REGISTRATION))
        assert answer.code == 16
        assert "needs a TLS client certificate (nsctl serve --broker-require-cert)" in (
            answer.remark
        )
        assert anonymous.call(request(106)).code == 0  # reads need no certificate
    with Client(process.address) as plaintext:
        assert plaintext.call(register_request(**ROGUE_REGISTRATION)).code == 16
    stranger_context = tls_context(certs, "stranger")
    with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
        stranger = Client(process.address, context=stranger_context)
        try:
            stranger.call(register_request(**ROGUE_REGISTRATION))
        finally:
            stranger.close()


def test_broker_require_cert_needs_tls(tmp_path, certs):
    made, _ = certs
    result = subprocess.run(
        [sys.executable, "-m", "nsctl.cli.main", "serve", "--port", "0",
         "--broker-require-cert", str(made.ca)],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 2
    assert "--broker-require-cert needs --tls-cert and --tls-key" in result.stderr
