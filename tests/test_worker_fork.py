"""The media worker's job process is a fork: the database connections the worker's other
threads opened (the maintenance thread's) come with it, and must stay the worker's alone."""

from __future__ import annotations

import os
import socket
import stat
import threading

import pytest
from django.db import connection
from django.db.backends.signals import connection_created

from tasks.management.commands.worker import _remember_connection, leave_other_threads_connections

pytestmark = pytest.mark.django_db(transaction=True)


def is_socket(fd: int) -> bool:
    return stat.S_ISSOCK(os.fstat(fd).st_mode)


def test_a_forked_job_process_lets_go_of_the_sockets_other_threads_opened() -> None:
    connection_created.connect(_remember_connection)
    opened, done = threading.Event(), threading.Event()
    theirs: list[int] = []

    def maintenance() -> None:  # a thread holding its connection open, as the worker's does
        connection.ensure_connection()
        theirs.append(connection.connection.fileno())
        opened.set()
        done.wait(30)
        with connection.cursor() as cursor:  # still its own after the child has gone
            cursor.execute("SELECT 1")
            theirs.append(cursor.fetchone()[0])
        connection.close()

    thread = threading.Thread(target=maintenance)
    try:
        thread.start()
        assert opened.wait(30)
        connection.ensure_connection()
        mine = connection.connection.fileno()
        assert is_socket(theirs[0]) and is_socket(mine)
        reader, writer = socket.socketpair()
        child = os.fork()
        if child == 0:  # pragma: no cover - the child reports through the socket pair
            try:
                leave_other_threads_connections()
                said = f"{os.readlink(f'/proc/self/fd/{theirs[0]}')} {is_socket(mine)}"
                writer.sendall(said.encode())
            finally:
                os._exit(0)
        writer.close()
        said = reader.recv(1000).decode()
        os.waitpid(child, 0)
        assert said == f"{os.devnull} True"  # the other thread's socket let go; this thread's kept
        assert is_socket(theirs[0])  # the parent's own socket untouched
    finally:
        done.set()
        thread.join(30)
        connection_created.disconnect(_remember_connection)
    assert theirs[1:] == [1]
