"""Opening the database, and saying in words why it could not be opened.

A missing folder for the SQLite file, a host that is not known, nothing listening,
a refused user or password, a database that does not exist: each is one line for
the operator that names DATABASE_URL and never its password.
"""

from __future__ import annotations

import os
import socket
import ssl
from pathlib import Path

from sqlalchemy import make_url
from sqlalchemy.engine import URL

from bot.causes import causes
from bot.settings import DATABASES
from bot.store.store import Store

# PostgreSQL's error classes (SQLSTATE) worth their own words.
_REFUSED_LOGIN = "28"  # invalid authorization: unknown role, wrong password, pg_hba
_NO_DATABASE = "3D000"
_TOO_MANY = "53300"
_STARTING = "57P03"


class CannotOpen(Exception):
    """The database cannot be opened; the message is one line for the operator."""


async def open_store(url: str, *, connections: int = 10) -> Store:
    """`Store.open`, or CannotOpen saying why not."""
    try:
        return await Store.open(url, connections=connections)
    except Exception as error:
        raise CannotOpen(
            f"Cannot open the database at DATABASE_URL: {why_not_opened(error, url)}."
        ) from error


def _parsed(url: str) -> URL | None:
    try:
        return make_url(url)
    except Exception:
        return None


def why_not_opened(error: BaseException, url: str) -> str:
    """The reason, in words, that `url` could not be opened (never its password)."""
    parsed = _parsed(url)
    if parsed is not None and parsed.get_backend_name() == "sqlite":
        return _why_sqlite(error, parsed)
    if parsed is not None and parsed.get_backend_name() != "postgresql":
        return f"the {parsed.get_backend_name()!r} database is not supported (use {DATABASES})"
    chain = causes(error)
    host = "the database server"
    if parsed is not None and parsed.host:
        host = f"{parsed.host}:{parsed.port}" if parsed.port else parsed.host
    for cause in chain:
        if isinstance(cause, socket.gaierror):
            return f"the host name {parsed.host if parsed else host} is not known"
        if isinstance(cause, ConnectionRefusedError) or "Connect call failed" in str(cause):
            return f"nothing accepts connections at {host} (is the database server running?)"
        if isinstance(cause, ssl.SSLError):
            return f"the TLS connection to {host} failed ({cause.reason or 'ssl error'})"
        if isinstance(cause, TimeoutError):
            return f"{host} did not answer in time"
        state = str(getattr(cause, "sqlstate", "") or "")
        if state:
            said = _first_line(cause)
            if state.startswith(_REFUSED_LOGIN):
                user = parsed.username if parsed and parsed.username else "the user"
                return f"PostgreSQL at {host} refused {user} ({said})"
            if state == _NO_DATABASE:
                return f"PostgreSQL at {host} has no such database ({said})"
            if state == _TOO_MANY:
                return f"PostgreSQL at {host} has no connection left ({said})"
            if state == _STARTING:
                return f"PostgreSQL at {host} is starting up or shutting down ({said})"
            return f"PostgreSQL at {host} said: {said}"
        if isinstance(cause, OSError):
            return f"the connection to {host} failed ({_first_line(cause)})"
        if type(cause).__name__ == "CommandError" and "revision" in str(cause):
            # alembic: the schema is at a revision this version does not know.
            return (
                "its schema was migrated by a newer version of the bot "
                f"({_first_line(cause)}); run that version, or restore a backup"
            )
    return type(chain[-1]).__name__


def _why_sqlite(error: BaseException, url: URL) -> str:
    name = url.database or ""
    if not name or name == ":memory:":
        return f"SQLite failed ({_first_line(causes(error)[-1])})"
    path = Path(name)
    folder = path.parent
    if not folder.is_dir():
        return f"the folder {folder} for the SQLite file does not exist (create it first)"
    if path.is_dir():
        return f"{path} is a folder, not a SQLite file"
    if not path.exists() and not os.access(folder, os.W_OK | os.X_OK):
        return f"the folder {folder} cannot be written to, so {path.name} cannot be created"
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        return f"{path} cannot be read and written (check its permissions)"
    return f"SQLite cannot open {path} ({_first_line(causes(error)[-1])})"


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:200] if text else type(error).__name__
