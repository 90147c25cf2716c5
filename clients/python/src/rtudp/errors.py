"""Exceptions: what rtudpd refused and why (its google.rpc.Status details), or why it could not be reached."""

from typing import Dict, List, NamedTuple, Optional

import grpc

from rtudp._rpc import error_details_pb2

_DETAILS_TRAILER = "grpc-status-details-bin"


class FieldViolation(NamedTuple):
    """One invalid request field (its proto path, e.g. "channel.local.address") and why."""

    field: str
    description: str


class RtUdpError(Exception):
    """rtudpd refused a call, or a local check refused it before any call.

    code: the gRPC status (None for a local check); detail: the daemon's message; field_violations: the
    google.rpc.BadRequest list; retry_delay_s: google.rpc.RetryInfo; reason and metadata: google.rpc.ErrorInfo
    (e.g. "RING_FULL" with metadata["accepted"]); preconditions: google.rpc.PreconditionFailure as "subject: description".
    """

    def __init__(self, message: str, *, code: Optional[grpc.StatusCode] = None, detail: str = "",
                 field_violations: Optional[List[FieldViolation]] = None, retry_delay_s: Optional[float] = None,
                 reason: str = "", metadata: Optional[Dict[str, str]] = None, preconditions: Optional[List[str]] = None) -> None:
        super().__init__(message)
        self.code = code
        self.detail = detail or message
        self.field_violations: List[FieldViolation] = list(field_violations or [])
        self.retry_delay_s = retry_delay_s
        self.reason = reason
        self.metadata: Dict[str, str] = dict(metadata or {})
        self.preconditions: List[str] = list(preconditions or [])


class InvalidArgumentError(RtUdpError, ValueError):
    """An argument is invalid (INVALID_ARGUMENT from rtudpd, or refused locally before sending): see field_violations."""


class NotFoundError(RtUdpError, LookupError):
    """The channel (or generator, capture) does not exist, e.g. it was deleted."""


class ChannelStateError(RtUdpError, RuntimeError):
    """The call does not fit the channel's state or direction (FAILED_PRECONDITION, or e.g. send_data before init_socket)."""


class AlreadyExistsError(RtUdpError):
    """A channel with that id exists already."""


class QueueFullError(RtUdpError):
    """Back-pressure: the client's send queue stayed full (on_full="raise", or block_timeout_s passed). The packet was not queued."""


class ResourceExhaustedError(RtUdpError):
    """RESOURCE_EXHAUSTED: a full ring on a unary Send (metadata["accepted"] went in), or a limit."""


class PermissionDeniedError(RtUdpError, PermissionError):
    """Not allowed: PERMISSION_DENIED, or librtudp's RTUDP_E_PERMISSION (the user is not in the daemon's socket group)."""


class ShmUnavailableError(RtUdpError, RuntimeError):
    """transport="shm" was asked but the shared-memory path cannot be used here (no librtudp, an ABI mismatch, a
    daemon that is not on this host or has no shared-memory socket): the message says which."""


class DaemonUnreachableError(RtUdpError, ConnectionError):
    """Nothing answered at the address (no socket file, connection refused, TLS failure): nothing was done."""

    def __init__(self, address: str, reason: str, code: Optional[grpc.StatusCode] = None) -> None:
        super().__init__(f"cannot reach rtudpd at {address}: {reason}", code=code, detail=reason)
        self.address = address
        self.reason = reason


_BY_CODE = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgumentError,
    grpc.StatusCode.OUT_OF_RANGE: InvalidArgumentError,
    grpc.StatusCode.NOT_FOUND: NotFoundError,
    grpc.StatusCode.FAILED_PRECONDITION: ChannelStateError,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExistsError,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhaustedError,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDeniedError,
}


def _status_details(trailers) -> Optional[error_details_pb2.Status]:
    for key, value in trailers or ():
        if key == _DETAILS_TRAILER:
            status = error_details_pb2.Status()
            status.ParseFromString(value)
            return status
    return None


def _type_name(type_url: str) -> str:
    return type_url.rsplit("/", 1)[-1]


def from_rpc_error(error: grpc.RpcError, address: str, socket_exists: Optional[bool] = None) -> RtUdpError:
    """The typed exception for a failed call. socket_exists: for a unix socket address, whether its file exists."""
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    detail = error.details() if hasattr(error, "details") else str(error)
    trailers = error.trailing_metadata() if hasattr(error, "trailing_metadata") else None
    status = _status_details(trailers)
    if status is None and code == grpc.StatusCode.UNAVAILABLE:
        # Transport failures come as UNAVAILABLE without the daemon's details; the daemon's own UNAVAILABLE
        # (engine restarting) carries google.rpc.Status.
        return DaemonUnreachableError(address, "no such socket" if socket_exists is False else (detail or "unavailable"), code)
    kwargs: dict = {"code": code, "detail": detail or ""}
    if status is not None:
        for any_detail in status.details:
            name = _type_name(any_detail.type_url)
            if name == "google.rpc.BadRequest":
                bad = error_details_pb2.BadRequest.FromString(any_detail.value)
                kwargs["field_violations"] = [FieldViolation(v.field, v.description) for v in bad.field_violations]
            elif name == "google.rpc.RetryInfo":
                retry = error_details_pb2.RetryInfo.FromString(any_detail.value)
                kwargs["retry_delay_s"] = retry.retry_delay.seconds + retry.retry_delay.nanos / 1e9
            elif name == "google.rpc.ErrorInfo":
                info = error_details_pb2.ErrorInfo.FromString(any_detail.value)
                kwargs["reason"] = info.reason
                kwargs["metadata"] = dict(info.metadata)
            elif name == "google.rpc.PreconditionFailure":
                failure = error_details_pb2.PreconditionFailure.FromString(any_detail.value)
                kwargs["preconditions"] = [f"{v.subject}: {v.description}" for v in failure.violations]
    message = f"{code.name}: {detail}"
    if kwargs.get("field_violations") and not all(v.field in message for v in kwargs["field_violations"]):
        message += " (" + "; ".join(f"{v.field}: {v.description}" for v in kwargs["field_violations"]) + ")"
    return _BY_CODE.get(code, RtUdpError)(message, **kwargs)


def invalid_argument(field: str, description: str) -> InvalidArgumentError:
    """A local check's refusal, shaped like the daemon's (one field violation)."""
    return InvalidArgumentError(f"{field}: {description}", field_violations=[FieldViolation(field, description)])
