"""ACL request signing: the credentials a request is signed with, and the signature itself.

A broker with ACL checks two ext fields on every request: `AccessKey` names the user and
`Signature` proves the sender holds that user's secret key. The signature is
`base64(HmacSHA1(secretKey, content))`, where `content` is the values (not the names) of every
other ext field -- `AccessKey` and `SecurityToken` included -- in Java `String` order of their
names, concatenated, UTF-8, followed by the body bytes. No I/O here: the transports sign every
request they send with `sign_command` when credentials are configured.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from nsctl.protocol.codes import SerializeType
from nsctl.protocol.command import RemotingCommand
from nsctl.protocol.dialect import utf16_order

ACCESS_KEY = "AccessKey"
SECURITY_TOKEN = "SecurityToken"
SIGNATURE = "Signature"

#: Environment variables `Credentials.from_env` reads. The library never reads them on its
#: own: a caller (the CLI) decides where keys come from.
ENV_ACCESS_KEY = "NSCTL_ACCESS_KEY"
ENV_SECRET_KEY = "NSCTL_SECRET_KEY"
ENV_SECURITY_TOKEN = "NSCTL_SECURITY_TOKEN"

#: What a 5.3.3 broker appends for an ext value it read as null (see `signing_content`).
_JAVA_NULL = b"null"


@dataclass(frozen=True, slots=True)
class Credentials:
    """An access key / secret key pair (and an optional security token) to sign requests with.

    The secret never appears in `repr`, so credentials can be logged with the settings that
    hold them.
    """

    access_key: str
    secret_key: str = field(repr=False)
    security_token: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        # Java's HMAC refuses an empty key, and a broker reads an empty AccessKey as no user:
        # neither can ever sign a request a broker accepts.
        if not self.access_key:
            raise ValueError("the access key must not be empty")
        if not self.secret_key:
            raise ValueError("the secret key must not be empty")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Credentials | None:
        """Credentials from `NSCTL_ACCESS_KEY` / `NSCTL_SECRET_KEY` (and `NSCTL_SECURITY_TOKEN`);
        None when neither key is set. One key without the other is a ValueError naming the
        missing variable."""
        env = os.environ if environ is None else environ
        access_key = env.get(ENV_ACCESS_KEY) or None
        secret_key = env.get(ENV_SECRET_KEY) or None
        if access_key is None and secret_key is None:
            return None
        if access_key is None or secret_key is None:
            given, missing = (
                (ENV_ACCESS_KEY, ENV_SECRET_KEY)
                if secret_key is None
                else (ENV_SECRET_KEY, ENV_ACCESS_KEY)
            )
            raise ValueError(f"{given} is set but {missing} is not: set both or neither")
        return cls(access_key, secret_key, env.get(ENV_SECURITY_TOKEN) or None)


def signing_content(
    ext_fields: Mapping[str, str],
    body: bytes | None,
    serialize_type: SerializeType = SerializeType.JSON,
) -> bytes:
    """The bytes a broker computes the signature over for these ext fields and body.

    In ROCKETMQ serialization an empty value counts as the four characters `null`: a 5.3.3
    broker's ROCKETMQ header decoder reads a zero-length ext value as null, and its signature
    check then appends `null` in that place (Java's StringBuilder does so for a null String).
    The Java client signs the empty string there instead, so its ROCKETMQ requests with an
    empty value (`attributes=""` of every topic update without attributes) fail with `check
    signature failed.`; signing what the broker will check makes ours pass. JSON keeps empty
    strings on both sides, so there an empty value adds nothing. Likewise an empty *name*
    cannot travel in a ROCKETMQ header (the encoder leaves it out), so it is not signed there.
    """
    rocketmq = serialize_type == SerializeType.ROCKETMQ
    names = [
        name
        for name, value in ext_fields.items()
        if name != SIGNATURE and value is not None and not (rocketmq and not name)
    ]
    parts = []
    for name in sorted(names, key=utf16_order):
        value = ext_fields[name]
        parts.append(_JAVA_NULL if rocketmq and value == "" else value.encode("utf-8"))
    return b"".join(parts) + (body or b"")


def signature(content: bytes, secret_key: str) -> str:
    """`base64(HmacSHA1(secret_key, content))`, standard alphabet with padding."""
    # Imported here: every command line imports the transports, few of them sign.
    import base64
    import hashlib
    import hmac

    digest = hmac.new(secret_key.encode("utf-8"), content, hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def sign(
    ext_fields: Mapping[str, str] | None,
    body: bytes | None,
    credentials: Credentials,
    serialize_type: SerializeType = SerializeType.JSON,
) -> dict[str, str]:
    """A copy of `ext_fields` (the header's fields already in it) with `AccessKey`,
    `SecurityToken` (when the credentials have one) and `Signature` added."""
    signed = dict(ext_fields or {})
    signed[ACCESS_KEY] = credentials.access_key
    if credentials.security_token is not None:
        signed[SECURITY_TOKEN] = credentials.security_token
    signed.pop(SIGNATURE, None)
    content = signing_content(signed, body, serialize_type)
    signed[SIGNATURE] = signature(content, credentials.secret_key)
    return signed


def sign_command(command: RemotingCommand, credentials: Credentials | None) -> RemotingCommand:
    """`command` signed for its own serialization and body (a copy; the caller's command is
    not changed), or `command` itself when there are no credentials."""
    if credentials is None:
        return command
    ext = sign(command.ext_fields, command.body, credentials, command.serialize_type)
    return dataclasses.replace(command, ext_fields=ext)
