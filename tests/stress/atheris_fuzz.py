"""Coverage-guided fuzzing (atheris / libFuzzer) of the frame decoder and the dispatcher.

    .venv/bin/pip install atheris      # optional; not a project dependency
    .venv/bin/python tests/stress/atheris_fuzz.py -atheris_runs=200000 [corpus_dir]

The captured Java frames (tests/data) are the seed corpus, copied into a temporary corpus
directory when none is given. Each input is fed to a `FrameDecoder` in two pieces; every
command decoded goes to one long-lived `Dispatcher`. Anything but a `ProtocolError` from the
decoder, any exception from the dispatcher, a non-one-way request left unanswered or answered
with another opaque, or an answer that cannot be encoded is a crash. tests/stress/
test_atheris.py runs this for a bounded number of inputs.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import atheris  # noqa: E402

with atheris.instrument_imports():
    from nsctl.protocol import FrameDecoder, ProtocolError, encode
    from nsctl.server.config import NamesrvConfig
    from nsctl.server.dispatch import Dispatcher
    from nsctl.server.kvstore import KVStore
    from nsctl.server.route_table import RouteTable

import logging  # noqa: E402

logging.disable(logging.CRITICAL)  # the dispatcher logs every refused request
_tmp = tempfile.mkdtemp(
    prefix="nsctl-atheris-", dir="/dev/shm" if Path("/dev/shm").is_dir() else None
)
_kv = KVStore(Path(_tmp) / "kvConfig.json")
_kv.load()
_dispatcher = Dispatcher(RouteTable(), _kv, NamesrvConfig())


def test_one_input(data: bytes) -> None:
    decoder = FrameDecoder(max_frame_length=1 << 20)
    cut = data[0] % (len(data) + 1) if data else 0
    commands = []
    try:
        commands += decoder.feed(data[:cut])
        commands += decoder.feed(data[cut:])
    except ProtocolError:
        pass
    for command in commands:
        response = _dispatcher.handle(command, "atheris")
        if command.is_oneway or command.is_response:
            assert response is None
            continue
        assert response is not None and response.opaque == command.opaque
        encode(response)


def main() -> None:
    args = list(sys.argv)
    corpora = [Path(a) for a in args[1:] if not a.startswith("-")]
    if not corpora:
        corpora = [Path(tempfile.mkdtemp(prefix="nsctl-atheris-corpus-"))]
        args.append(str(corpora[0]))
    corpus = corpora[0]
    corpus.mkdir(parents=True, exist_ok=True)
    if not any(corpus.iterdir()):  # seed an empty corpus with the captured Java frames
        for frame in sorted((ROOT / "tests" / "data").glob("frames-*/*.bin")):
            (corpus / f"{frame.parent.name}-{frame.name}").write_bytes(frame.read_bytes())
    atheris.Setup(args, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
