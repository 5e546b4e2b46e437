"""The error types of the client library.

Everything the library raises on a failed call is a `NameServerError`, so a caller (the CLI, a
script) can catch one type and still tell the cases apart: the server could not be reached
(`NameServerConnectionError`), did not answer in time (`NameServerTimeoutError`), spoke something
that is not the remoting protocol (`NameServerProtocolError`), answered with an error code
(`NameServerResponseError` and its children, such as `PermissionDeniedError`) or answered a body
that does not parse (`NameServerDataParseError`), or the call could not be made as given
(`NameServerUsageError`).

The rule for callers: every failure of a call of the public API (the clients, the managers,
the broker clients, their settings) is a `NameServerError`. A value of the right type that
cannot be used -- a header over the frame's 24-bit length field, text that is not valid Unicode
(a lone surrogate), a config entry with a line break, an address without a port, a negative
timeout -- is a `NameServerUsageError`, raised before anything is sent; it is also a
`ValueError`, as these were before. Only an argument of the wrong Python type (a number where
text is expected, None for a required value) may raise a plain `TypeError`, as the standard
library does: that is a bug in the caller, not a failure of the call.
"""

from __future__ import annotations

from nsctl.protocol.codes import ResponseCode, code_name


class NameServerError(Exception):
    """Base of every error of the client library. `address` names the NameServer involved."""

    def __init__(self, message: str, *, address: str | None = None) -> None:
        super().__init__(message)
        self.address = address


class NameServerConnectionError(NameServerError):
    """The connection could not be opened, or broke before the answer was complete."""


class NameServerTimeoutError(NameServerError):
    """No (complete) answer within the timeout. The connection has been closed."""


class NameServerProtocolError(NameServerError):
    """The peer sent bytes that are not a valid remoting frame. The connection has been closed."""


class NameServerDataParseError(NameServerError):
    """The NameServer answered SUCCESS but the body or header does not parse into the model."""


class NameServerUsageError(NameServerError, ValueError):
    """A value given to the library cannot be used as it is (see the module's docstring);
    nothing was sent. The connection, if any, stays usable."""


def usage_error(error: BaseException, doing: str) -> NameServerUsageError:
    """`error` (a ValueError, OverflowError, ... raised while building or encoding a request)
    as the NameServerUsageError of `doing`, in one line."""
    text = " ".join(str(error).split()) or type(error).__name__
    if isinstance(error, UnicodeEncodeError):
        text = f"text that is not valid Unicode ({text})"
    usage = NameServerUsageError(f"{doing}: cannot send the request: {text}")
    usage.__cause__ = error
    return usage


class NoNameServerAddressError(NameServerError):
    """No NameServer address is configured anywhere (option, environment, address server)."""


class NameServerResponseError(NameServerError):
    """The NameServer answered with a non-SUCCESS response code."""

    def __init__(
        self,
        code: int,
        remark: str | None,
        *,
        address: str | None = None,
        request_code: int | None = None,
    ) -> None:
        what = code_name(request_code, response=False) if request_code is not None else "request"
        text = f"{what} failed with {code_name(code, response=True)} ({code})"
        if remark:
            text += f": {remark.strip()}"
        if address:
            text += f" [{address}]"
        super().__init__(text, address=address)
        self.code = code
        self.remark = remark
        self.request_code = request_code


class TopicNotFoundError(NameServerResponseError):
    """TOPIC_NOT_EXIST (17): the NameServer has no route for the topic."""


class PermissionDeniedError(NameServerResponseError):
    """NO_PERMISSION (16): the server refused the request. From a broker with ACL: the request
    was unsigned (`username cannot be null.`), its signature did not verify (`check signature
    failed.`), the user is unknown (`User:X is not found.`) or lacks the grant.

    The clients name the credentials the request went out with: `access_key` is the key it was
    signed with, None when it was sent unsigned (`signed` False). The message stays one line.
    """

    def __init__(
        self,
        code: int,
        remark: str | None,
        *,
        address: str | None = None,
        request_code: int | None = None,
        access_key: str | None = None,
        signed: bool | None = None,
    ) -> None:
        # A remark with line breaks would break the one-line contract of the message.
        remark = " ".join(remark.split()) if remark else remark
        super().__init__(code, remark, address=address, request_code=request_code)
        self.access_key = access_key
        self.signed = signed
        if signed is not None:
            how = (
                f"signed with access key {access_key!r}"
                if signed
                else "sent unsigned: no access key configured"
            )
            self.args = (f"{self.args[0]} ({how})",)

    def sent_with(self, access_key: str | None) -> PermissionDeniedError:
        """The same refusal, naming the access key the request was signed with (None: none)."""
        return PermissionDeniedError(
            self.code,
            self.remark,
            address=self.address,
            request_code=self.request_code,
            access_key=access_key,
            signed=access_key is not None,
        )


class KVConfigNotFoundError(NameServerResponseError):
    """QUERY_NOT_FOUND (22): no such KV namespace or key."""


class InvalidParameterError(NameServerResponseError):
    """INVALID_PARAMETER (29): a broker refused the arguments (a bad or system topic name)."""


_BY_CODE: dict[int, type[NameServerResponseError]] = {
    ResponseCode.TOPIC_NOT_EXIST: TopicNotFoundError,
    ResponseCode.QUERY_NOT_FOUND: KVConfigNotFoundError,
    ResponseCode.INVALID_PARAMETER: InvalidParameterError,
    ResponseCode.NO_PERMISSION: PermissionDeniedError,
}

#: Answers that say "this server cannot serve you right now", not "your request is wrong":
#: another NameServer may well succeed.
SERVER_SIDE_FAILURE_CODES = frozenset(
    {ResponseCode.SYSTEM_ERROR, ResponseCode.SYSTEM_BUSY, ResponseCode.GO_AWAY}
)


def response_error(
    code: int, remark: str | None, *, address: str | None = None, request_code: int | None = None
) -> NameServerResponseError:
    """The most specific error type for a response code."""
    kind = _BY_CODE.get(code, NameServerResponseError)
    return kind(code, remark, address=address, request_code=request_code)


def is_server_side_failure(error: NameServerError) -> bool:
    """True when another NameServer might answer differently (connection trouble, busy, ...)."""
    if isinstance(error, NameServerResponseError):
        return error.code in SERVER_SIDE_FAILURE_CODES
    return isinstance(
        error, (NameServerConnectionError, NameServerTimeoutError, NameServerProtocolError)
    )
