"""A throwaway PostgreSQL cluster for the tests that run on both backends.

A test module marked ``pytestmark = pytest.mark.both_backends`` runs each test that
uses the ``db_path`` fixture twice: on a SQLite file and on PostgreSQL (a fresh schema
per test, in one cluster for the whole session). The cluster is made with initdb in a
temporary folder, listens on 127.0.0.1 only, runs as the ``postgres`` user when the
tests run as root (the server refuses root), and is stopped at the end.

A test of such a module that needs an app but never reaches its store (its
configuration, its parsing) is marked ``sqlite_only``: its PostgreSQL run would test
nothing more.

``SANLIANG_TEST_PG=postgresql://...`` uses that server instead. Without PostgreSQL
installed the PostgreSQL runs are skipped, unless ``SANLIANG_REQUIRE_PG=1`` (as
``make test`` sets) makes that a failure.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

_schemas = itertools.count(1)


def pg_bin(name: str) -> str | None:
    """The newest installed PostgreSQL's ``name`` (initdb, pg_ctl, pg_dump ...)."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=_version)
    if found:
        return found[-1]
    return shutil.which(name)


def _version(path: str) -> int:
    part = Path(path).parts[-3]
    return int(part) if part.isdigit() else 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """initdb + pg_ctl start in a temporary folder; ``stop()`` removes it."""

    def __init__(self) -> None:
        initdb, pg_ctl = pg_bin("initdb"), pg_bin("pg_ctl")
        if initdb is None or pg_ctl is None:
            raise FileNotFoundError("PostgreSQL is not installed (initdb, pg_ctl)")
        self.pg_ctl = pg_ctl
        self.root = Path(tempfile.mkdtemp(prefix="sanliang-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self._run(
            [initdb, "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8"]
            + ["--locale=C.UTF-8", "--no-sync", "--no-instructions"]
        )
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
            " -c shared_buffers=16MB"
        )
        self._run(
            [pg_ctl, "-D", str(self.data), "-l", str(self.root / "log"), "-o", options]
            + ["-w", "-t", "60", "start"]
        )
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, cmd: list[str]) -> None:
        subprocess.run(self.as_user + cmd, check=True, capture_output=True, timeout=120)

    def stop(self) -> None:
        try:
            self._run([self.pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop"])
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """The URL of a PostgreSQL server for this session (skipped when none can run)."""
    given = os.environ.get("SANLIANG_TEST_PG")
    if given:
        yield given
        return
    try:
        cluster = Cluster()
    except (FileNotFoundError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        message = f"no PostgreSQL cluster: {exc} {detail.decode(errors='replace')[-300:]}"
        if os.environ.get("SANLIANG_REQUIRE_PG"):
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield cluster.url
    finally:
        cluster.stop()


@pytest.fixture
def pg_url(pg_server: str) -> str:
    """A URL whose schema (``search_path``) is new and empty: one per test."""
    return f"{pg_server}?search_path=t{os.getpid()}_{next(_schemas)}"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "both_backends: run the tests using db_path on SQLite and on PostgreSQL"
    )
    config.addinivalue_line(
        "markers", "sqlite_only: in a both_backends module, a test that never reaches the store"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marked = metafunc.definition.get_closest_marker
    if "db_path" in metafunc.fixturenames and marked("both_backends") and not marked("sqlite_only"):
        metafunc.parametrize("db_path", ["sqlite", "postgresql"], indirect=True)
