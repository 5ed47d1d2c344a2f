"""Frames that cross between the trusted and the untrusted side.

A frame is a JSON header and raw byte blobs, length-prefixed:

    !II (header length, total blob length) | header JSON | blob bytes

The header lists the blob sizes under ``_blobs``; values refer to blobs by
index. Nothing here unpickles or evaluates: a peer can send wrong data, never
code. Both sides import this module, so it uses the standard library only.
"""

from __future__ import annotations

import array
import json
import os
import select
import socket
import struct
import time

_PREFIX = struct.Struct("!II")
# Bound once, when the child starts and before any notebook code runs: a
# notebook that later patches json or socket methods changes nothing here.
_dumps, _loads = json.dumps, json.loads
_send, _recv = socket.socket.send, socket.socket.recv


def _unavailable(*args, **kwargs):
    raise OSError("this system has no Unix socket messages")


# Windows has neither, and no Unix sockets: there the two sides talk over loopback TCP
# (grader.sandbox.plain), and a connection that carries no descriptors never calls these.
_sendmsg = getattr(socket.socket, "sendmsg", _unavailable)
_recvmsg = getattr(socket.socket, "recvmsg", _unavailable)
_select = select.select
MAX_HEADER_BYTES = 4 << 20
DEFAULT_MAX_FRAME_BYTES = 64 << 20
_MAX_FDS_PER_MESSAGE = 4


class WireError(Exception):
    """The peer sent something that is not a valid frame."""


class PeerClosed(WireError):
    """The peer closed its end (or died) before a whole frame arrived."""


class FrameTimeout(WireError):
    """No whole frame arrived (or could be sent) before the deadline."""


def pack(header: dict, blobs: list[bytes] | tuple[bytes, ...] = ()) -> bytes:
    sizes = [len(b) for b in blobs]
    head = _dumps({**header, "_blobs": sizes}, separators=(",", ":")).encode()
    return _PREFIX.pack(len(head), sum(sizes)) + head + b"".join(blobs)


class FrameReader:
    """Reassembles frames from a byte stream, enforcing size caps."""

    def __init__(self, *, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> None:
        self._buf = bytearray()
        self.max_frame_bytes = max_frame_bytes

    def feed(self, data: bytes) -> None:
        self._buf += data

    def pending(self) -> bool:
        return bool(self._buf)

    def next_frame(self) -> tuple[dict, list[bytes]] | None:
        buf = self._buf
        if len(buf) < _PREFIX.size:
            return None
        head_len, body_len = _PREFIX.unpack_from(buf)
        if head_len > MAX_HEADER_BYTES or head_len + body_len > self.max_frame_bytes:
            raise WireError(f"frame of {head_len + body_len} bytes exceeds the limit of {self.max_frame_bytes} bytes")
        end = _PREFIX.size + head_len + body_len
        if len(buf) < end:
            return None
        head = bytes(buf[_PREFIX.size : _PREFIX.size + head_len])
        body = bytes(buf[_PREFIX.size + head_len : end])
        del buf[:end]
        try:
            header = _loads(head)
        except (ValueError, UnicodeDecodeError) as exc:
            raise WireError(f"frame header is not JSON: {exc}") from None
        except RecursionError:
            raise WireError("frame header is nested too deeply") from None
        if not isinstance(header, dict):
            raise WireError("frame header is not a JSON object")
        sizes = header.pop("_blobs", None)
        if not isinstance(sizes, list) or not all(type(s) is int and s >= 0 for s in sizes) or sum(sizes) != body_len:
            raise WireError("frame blob sizes do not match its body")
        blobs, at = [], 0
        for size in sizes:
            blobs.append(body[at : at + size])
            at += size
        return header, blobs


class Connection:
    """One end of a stream socket carrying frames.

    The untrusted side uses the blocking calls. The trusted side always passes
    a deadline (a ``time.monotonic()`` value) and a size cap, so a peer that
    stalls, floods or sends garbage costs at most the deadline.
    """

    def __init__(self, sock: socket.socket, *, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES):
        self.sock = sock
        self._reader = FrameReader(max_frame_bytes=max_frame_bytes)
        self._out = bytearray()
        self._fds: list[int] = []
        self.closed = False
        # A socket that cannot carry descriptors (loopback TCP, all Windows has) is used in non-blocking
        # mode instead of with MSG_DONTWAIT, which Windows lacks, and never reads ancillary data.
        self._unix = sock.family == getattr(socket, "AF_UNIX", None)
        if not self._unix:
            sock.setblocking(False)

    def fileno(self) -> int:
        return self.sock.fileno()

    @property
    def max_frame_bytes(self) -> int:
        return self._reader.max_frame_bytes

    @max_frame_bytes.setter
    def max_frame_bytes(self, value: int) -> None:
        self._reader.max_frame_bytes = value

    # -- sending -----------------------------------------------------------
    def queue(self, header: dict, blobs: list[bytes] | tuple[bytes, ...] = ()) -> None:
        self._out += pack(header, blobs)

    def has_outgoing(self) -> bool:
        return bool(self._out)

    def send(self, header: dict, blobs=(), *, deadline: float | None = None, fds=()) -> None:
        data = pack(header, blobs)
        if fds:
            # Small control frames only: the descriptors ride on the first byte.
            _sendmsg(self.sock, [data[:1]], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
            data = data[1:]
        self._out += data
        self.flush(deadline=deadline)

    def flush(self, *, deadline: float | None = None) -> None:
        while self._out:
            self.pump(deadline=deadline, want_read=False)

    # -- receiving ---------------------------------------------------------
    def recv(self, *, deadline: float | None = None) -> tuple[dict, list[bytes]]:
        while True:
            frame = self._reader.next_frame()
            if frame is not None:
                return frame
            self.pump(deadline=deadline, want_read=True)

    def poll_frame(self) -> tuple[dict, list[bytes]] | None:
        """A whole frame if one is already buffered or readable now, else None."""
        frame = self._reader.next_frame()
        if frame is None:
            self.pump(timeout=0.0, want_read=True)
            frame = self._reader.next_frame()
        return frame

    def take_fd(self) -> int | None:
        """The descriptor that came last (with the frame just read), or None; the older ones are closed."""
        if not self._fds:
            return None
        fd = self._fds.pop()
        self._close_fds()
        return fd

    def _close_fds(self) -> None:
        for fd in self._fds:
            try:
                os.close(fd)
            except OSError:
                pass
        self._fds.clear()

    def pump(
        self,
        *,
        deadline: float | None = None,
        timeout: float | None = None,
        want_read: bool = True,
    ) -> None:
        """Move bytes both ways once, waiting at most until deadline/timeout."""
        if self.closed:
            raise PeerClosed("connection closed")
        if timeout is None and deadline is not None:
            timeout = max(0.0, deadline - time.monotonic())
        readers = [self.sock] if want_read else []
        writers = [self.sock] if self._out else []
        if not readers and not writers:
            return
        try:
            r, w, _ = _select(readers, writers, [], timeout)
        except (OSError, ValueError) as exc:
            raise PeerClosed(str(exc)) from None
        if not r and not w:
            if timeout == 0.0:
                return
            raise FrameTimeout("deadline passed")
        if w:
            try:
                sent = _send(self.sock, self._out, socket.MSG_DONTWAIT) if self._unix else _send(self.sock, self._out)
            except BlockingIOError:
                sent = 0
            except OSError as exc:
                self.closed = True
                raise PeerClosed(str(exc)) from None
            del self._out[:sent]
        if r:
            self._read_available()

    def _read_available(self) -> None:
        try:
            if self._unix:
                data, ancdata, _flags, _addr = _recvmsg(
                    self.sock, 1 << 20, socket.CMSG_SPACE(_MAX_FDS_PER_MESSAGE * 4), socket.MSG_DONTWAIT
                )
            else:
                data, ancdata = _recv(self.sock, 1 << 20), []
        except BlockingIOError:
            return
        except OSError as exc:
            self.closed = True
            raise PeerClosed(str(exc)) from None
        for level, kind, payload in ancdata:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds = array.array("i")
                fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
                self._fds.extend(fds)
        # Only a worker's socket is ever expected, one at a time: a peer that floods descriptors keeps
        # the latest few open here, never enough to run this process out of them.
        while len(self._fds) > _MAX_FDS_PER_MESSAGE:
            try:
                os.close(self._fds.pop(0))
            except OSError:
                pass
        if not data:
            self.closed = True
            raise PeerClosed("peer closed the connection")
        self._reader.feed(data)

    def close(self) -> None:
        self.closed = True
        self._close_fds()
        try:
            self.sock.close()
        except OSError:
            pass
