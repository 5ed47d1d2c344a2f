from __future__ import annotations

import json
import socket
import struct
import time

import pytest

from grader.child.wire import Connection, FrameReader, FrameTimeout, PeerClosed, WireError, pack


def test_frames_round_trip_with_blobs():
    reader = FrameReader()
    reader.feed(pack({"op": "call", "x": [1, 2]}, [b"abc", b"", b"\x00" * 5]))
    header, blobs = reader.next_frame()
    assert header == {"op": "call", "x": [1, 2]}
    assert blobs == [b"abc", b"", b"\x00" * 5]
    assert reader.next_frame() is None


def test_a_frame_arriving_byte_by_byte_is_reassembled():
    data = pack({"a": 1}, [b"xyz"]) + pack({"b": 2})
    reader = FrameReader()
    frames = []
    for i in range(len(data)):
        reader.feed(data[i : i + 1])
        while (frame := reader.next_frame()) is not None:
            frames.append(frame)
    assert frames == [({"a": 1}, [b"xyz"]), ({"b": 2}, [])]


def test_an_oversized_frame_is_refused_before_it_is_read():
    reader = FrameReader(max_frame_bytes=1000)
    reader.feed(struct.pack("!II", 10, 5000))
    with pytest.raises(WireError, match="exceeds the limit of 1000 bytes"):
        reader.next_frame()


@pytest.mark.parametrize(
    "head, body",
    [
        (b"not json", b""),
        (b"[1, 2]", b""),
        (json.dumps({"_blobs": [3]}).encode(), b"ab"),
        (json.dumps({"_blobs": [-1, 1]}).encode(), b""),
        (json.dumps({"_blobs": "x"}).encode(), b""),
    ],
)
def test_malformed_frames_are_errors_not_crashes(head, body):
    reader = FrameReader()
    reader.feed(struct.pack("!II", len(head), len(body)) + head + body)
    with pytest.raises(WireError):
        reader.next_frame()


def test_pickle_bytes_are_only_bytes():
    import pickle

    payload = pickle.dumps({"boom": 1})
    reader = FrameReader()
    reader.feed(struct.pack("!II", len(payload), 0) + payload)
    with pytest.raises(WireError, match="not JSON"):
        reader.next_frame()


def test_recv_honours_its_deadline():
    ours, theirs = socket.socketpair()
    conn = Connection(ours)
    started = time.monotonic()
    with pytest.raises(FrameTimeout):
        conn.recv(deadline=time.monotonic() + 0.2)
    assert time.monotonic() - started < 1.0
    theirs.sendall(pack({"late": True})[:5])  # half a frame, then silence
    with pytest.raises(FrameTimeout):
        conn.recv(deadline=time.monotonic() + 0.2)
    theirs.close()
    with pytest.raises(PeerClosed):
        conn.recv(deadline=time.monotonic() + 1)


def test_descriptors_travel_with_a_frame():
    ours, theirs = socket.socketpair()
    a, b = socket.socketpair()
    Connection(theirs).send({"ev": "opened"}, fds=[a.fileno()])
    conn = Connection(ours)
    header, _ = conn.recv(deadline=time.monotonic() + 1)
    assert header == {"ev": "opened"}
    fd = conn.take_fd()
    assert fd is not None
    passed = socket.socket(fileno=fd)
    passed.sendall(b"hi")
    assert b.recv(2) == b"hi"


def test_a_flood_of_descriptors_is_closed_as_it_arrives():
    import os

    ours, theirs = socket.socketpair()
    sender, conn = Connection(theirs), Connection(ours)
    junk = open(os.devnull)  # noqa: SIM115 - its descriptor is what travels
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(500):  # 2,000 descriptors, none of them asked for
        sender.send({"ev": "cell"}, fds=[junk.fileno()] * 4)
        conn.recv(deadline=time.monotonic() + 1)
    assert len(os.listdir("/proc/self/fd")) - before <= 4
    a, b = socket.socketpair()
    sender.send({"ev": "opened"}, fds=[a.fileno()])
    conn.recv(deadline=time.monotonic() + 1)
    passed = socket.socket(fileno=conn.take_fd())  # the one that came with the frame just read
    passed.sendall(b"hi")
    assert b.recv(2) == b"hi"
    assert len(os.listdir("/proc/self/fd")) - before <= 1 + 2 + 1  # passed, a, b; the rest closed
    junk.close()


def test_a_header_nested_deeper_than_python_recurses_is_an_error_not_a_crash():
    head = b"[" * 200_000 + b"]" * 200_000
    reader = FrameReader()
    reader.feed(struct.pack("!II", len(head), 0) + head)
    with pytest.raises(WireError, match="nested too deeply"):
        reader.next_frame()
