"""One atomic write for every file the grader leaves: -o outputs, batch records, gradebooks."""

from __future__ import annotations

import os
import stat
import threading

from grader.files import write_atomically


def test_replaces_a_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "gradebook.csv"
    path.write_text("old\n")
    write_atomically(path, "new\r\n")
    write_atomically(tmp_path / "bundle.zip", b"PK\x03\x04")
    assert path.read_bytes() == b"new\r\n"  # written as given, no newline translation
    assert (tmp_path / "bundle.zip").read_bytes() == b"PK\x03\x04"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle.zip", "gradebook.csv"]


def test_a_new_file_gets_the_umask_permissions_not_a_temporary_files(tmp_path):
    old = os.umask(0o022)
    try:
        write_atomically(tmp_path / "report.json", "{}\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "report.json").stat().st_mode) == 0o644


def test_a_fifo_is_written_into_not_replaced(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    write_atomically(fifo, "through the pipe\n")
    reader.join(10)
    assert got == [b"through the pipe\n"]
    assert stat.S_ISFIFO(fifo.stat().st_mode)
