"""Every error CallPulse raises, and the one list of client-facing error codes.

    CallPulseError
    ├── ClientError                 shown to the client with its code (extensions.code)
    │   ├── Unauthenticated         UNAUTHENTICATED   (HTTP 401; extensions.reason says why)
    │   ├── Forbidden               FORBIDDEN
    │   ├── NotFound                NOT_FOUND
    │   ├── BadUserInput            BAD_USER_INPUT    (also: GraphQL syntax and validation errors)
    │   ├── Conflict                CONFLICT
    │   ├── RateLimited             RATE_LIMITED
    │   ├── SlowConsumerError       SLOW_CONSUMER     (gateway/live/streams.py: a feed subscriber fell behind)
    │   └── QueryTooComplex         QUERY_TOO_COMPLEX
    └── ServerError                 never shown: the client sees INTERNAL with a request id
        ├── ConfigurationError      bad or missing configuration at start-up
        ├── DatabaseRoleError       the request role could bypass row-level security
        └── MigrationError
            └── MigrationChecksumError   an applied migration file was edited

Codes are added only here, in ErrorCode, and documented in the README.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping


class ErrorCode(enum.StrEnum):
    """Stable values of `extensions.code` in GraphQL errors."""

    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    CONFLICT = "CONFLICT"
    RATE_LIMITED = "RATE_LIMITED"
    SLOW_CONSUMER = "SLOW_CONSUMER"
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
    INTERNAL = "INTERNAL"


class CallPulseError(Exception):
    """Base of every error raised on purpose by CallPulse."""


class ClientError(CallPulseError):
    """An error the client caused and can act on; its message is shown as is."""

    code: ErrorCode = ErrorCode.BAD_USER_INPUT

    def __init__(self, message: str, **extensions: object) -> None:
        super().__init__(message)
        self.message = message
        self.extensions: Mapping[str, object] = extensions


class Unauthenticated(ClientError):
    code = ErrorCode.UNAUTHENTICATED

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message, reason=reason)
        self.reason = reason


class Forbidden(ClientError):
    code = ErrorCode.FORBIDDEN


class NotFound(ClientError):
    code = ErrorCode.NOT_FOUND


class BadUserInput(ClientError):
    code = ErrorCode.BAD_USER_INPUT


class Conflict(ClientError):
    code = ErrorCode.CONFLICT


class RateLimited(ClientError):
    code = ErrorCode.RATE_LIMITED


class QueryTooComplex(ClientError):
    code = ErrorCode.QUERY_TOO_COMPLEX


class ServerError(CallPulseError):
    """A fault on our side; its text goes to the log, never to the client."""


class ConfigurationError(ServerError):
    pass


class DatabaseRoleError(ServerError):
    pass


class MigrationError(ServerError):
    pass


class MigrationChecksumError(MigrationError):
    def __init__(self, version: str, name: str, applied: str, on_disk: str) -> None:
        super().__init__(
            f"migration {version} ({name}) was edited after it was applied: "
            f"applied checksum {applied[:12]}…, file now {on_disk[:12]}…; "
            "add a new migration instead of editing an applied one"
        )
        self.version = version
        self.name = name
        self.applied_checksum = applied
        self.file_checksum = on_disk
