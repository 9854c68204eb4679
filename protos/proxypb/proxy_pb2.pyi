from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetRulesRequest(_message.Message):
    __slots__ = ("service",)
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    service: str
    def __init__(self, service: _Optional[str] = ...) -> None: ...

class Rule(_message.Message):
    __slots__ = ("service", "port_name", "protocol", "kind", "ip", "port", "backends", "session_affinity")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    PORT_NAME_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    IP_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    BACKENDS_FIELD_NUMBER: _ClassVar[int]
    SESSION_AFFINITY_FIELD_NUMBER: _ClassVar[int]
    service: str
    port_name: str
    protocol: str
    kind: str
    ip: str
    port: int
    backends: _containers.RepeatedScalarFieldContainer[str]
    session_affinity: str
    def __init__(self, service: _Optional[str] = ..., port_name: _Optional[str] = ..., protocol: _Optional[str] = ..., kind: _Optional[str] = ..., ip: _Optional[str] = ..., port: _Optional[int] = ..., backends: _Optional[_Iterable[str]] = ..., session_affinity: _Optional[str] = ...) -> None: ...

class GetRulesResponse(_message.Message):
    __slots__ = ("rules", "node_name", "generation", "synced")
    RULES_FIELD_NUMBER: _ClassVar[int]
    NODE_NAME_FIELD_NUMBER: _ClassVar[int]
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    SYNCED_FIELD_NUMBER: _ClassVar[int]
    rules: _containers.RepeatedCompositeFieldContainer[Rule]
    node_name: str
    generation: int
    synced: bool
    def __init__(self, rules: _Optional[_Iterable[_Union[Rule, _Mapping]]] = ..., node_name: _Optional[str] = ..., generation: _Optional[int] = ..., synced: _Optional[bool] = ...) -> None: ...
