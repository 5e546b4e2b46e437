"""The RocketMQ remoting protocol as the NameServer speaks it. Pure: no sockets, no asyncio.

- `frame`: bytes <-> `RemotingCommand` (JSON and ROCKETMQ headers, incremental decoder)
- `codes`: request/response/language codes and constants
- `dialect`: the JSON dialect of bodies (bare integer map keys)
- `models`, `register`: typed bodies; `headers`: typed ext fields; `properties`: config text
- `acl`: ACL request signing (AccessKey / Signature) and `Credentials`
"""

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
