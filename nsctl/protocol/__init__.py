"""The RocketMQ remoting protocol as the NameServer speaks it. Pure: no sockets, no asyncio.

- `frame`: bytes <-> `RemotingCommand` (JSON and ROCKETMQ headers, incremental decoder)
- `codes`: request/response/language codes and constants
- `dialect`: the JSON dialect of bodies (bare integer map keys)
- `models`, `register`: typed bodies; `headers`: typed ext fields; `properties`: config text
- `acl`: ACL request signing (AccessKey / Signature) and `Credentials`
"""

from typing import TYPE_CHECKING

from nsctl.lazy import lazy_names

if TYPE_CHECKING:
    from nsctl.protocol.codes import (
        DEFAULT_VERSION,
        LanguageCode,
        RequestCode,
        ResponseCode,
        SerializeType,
        Version,
    )
    from nsctl.protocol.command import FLAG_ONEWAY, FLAG_RESPONSE, OpaqueCounter, RemotingCommand
    from nsctl.protocol.errors import ProtocolError
    from nsctl.protocol.frame import DEFAULT_MAX_FRAME_LENGTH, FrameDecoder, decode, encode
    from nsctl.protocol.models import (
        BrokerData,
        BrokerMemberGroup,
        ClusterInfo,
        KVConfigFile,
        KVTable,
        QueueData,
        TopicList,
        TopicQueueMappingInfo,
        TopicRouteData,
    )
    from nsctl.protocol.register import (
        DataVersion,
        RegisterBrokerBody,
        RegisterBrokerResult,
        TopicConfig,
        TopicConfigSerializeWrapper,
        body_crc32,
    )

__all__ = [
    "DEFAULT_MAX_FRAME_LENGTH",
    "DEFAULT_VERSION",
    "FLAG_ONEWAY",
    "FLAG_RESPONSE",
    "BrokerData",
    "BrokerMemberGroup",
    "ClusterInfo",
    "DataVersion",
    "FrameDecoder",
    "KVConfigFile",
    "KVTable",
    "LanguageCode",
    "OpaqueCounter",
    "ProtocolError",
    "QueueData",
    "RegisterBrokerBody",
    "RegisterBrokerResult",
    "RemotingCommand",
    "RequestCode",
    "ResponseCode",
    "SerializeType",
    "TopicConfig",
    "TopicConfigSerializeWrapper",
    "TopicList",
    "TopicQueueMappingInfo",
    "TopicRouteData",
    "Version",
    "body_crc32",
    "decode",
    "encode",
]

#: Name -> the module defining it: importing one submodule (`nsctl.protocol.codes`) must not
#: import every model, because the CLI pays for each import on every start.
_LAZY = {
    "BrokerData": "nsctl.protocol.models",
    "BrokerMemberGroup": "nsctl.protocol.models",
    "ClusterInfo": "nsctl.protocol.models",
    "DEFAULT_MAX_FRAME_LENGTH": "nsctl.protocol.frame",
    "DEFAULT_VERSION": "nsctl.protocol.codes",
    "DataVersion": "nsctl.protocol.register",
    "FLAG_ONEWAY": "nsctl.protocol.command",
    "FLAG_RESPONSE": "nsctl.protocol.command",
    "FrameDecoder": "nsctl.protocol.frame",
    "KVConfigFile": "nsctl.protocol.models",
    "KVTable": "nsctl.protocol.models",
    "LanguageCode": "nsctl.protocol.codes",
    "OpaqueCounter": "nsctl.protocol.command",
    "ProtocolError": "nsctl.protocol.errors",
    "QueueData": "nsctl.protocol.models",
    "RegisterBrokerBody": "nsctl.protocol.register",
    "RegisterBrokerResult": "nsctl.protocol.register",
    "RemotingCommand": "nsctl.protocol.command",
    "RequestCode": "nsctl.protocol.codes",
    "ResponseCode": "nsctl.protocol.codes",
    "SerializeType": "nsctl.protocol.codes",
    "TopicConfig": "nsctl.protocol.register",
    "TopicConfigSerializeWrapper": "nsctl.protocol.register",
    "TopicList": "nsctl.protocol.models",
    "TopicQueueMappingInfo": "nsctl.protocol.models",
    "TopicRouteData": "nsctl.protocol.models",
    "Version": "nsctl.protocol.codes",
    "body_crc32": "nsctl.protocol.register",
    "decode": "nsctl.protocol.frame",
    "encode": "nsctl.protocol.frame",
}


__getattr__ = lazy_names(__name__, _LAZY)
