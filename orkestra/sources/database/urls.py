"""Connection strings: pick the async driver, anchor relative SQLite paths, check the driver exists.

Users write the URL they know (`postgresql://`, `mysql://`, `sqlite:///data/app.db`); Orkestra
runs on asyncio, so the plain schemes are mapped to SQLAlchemy's async drivers. A URL that already
names a driver (`postgresql+psycopg://`) is kept as written.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from orkestra.errors import OrkestraError

# plain scheme -> async driver
ASYNC_DRIVERS: dict[str, str] = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",  # Heroku-style URLs; SQLAlchemy dropped this alias
    "mysql": "mysql+aiomysql",
    "mariadb": "mysql+aiomysql",
}

# driver -> (module to import, orkestra extra that installs it)
DRIVER_MODULES: dict[str, tuple[str, str | None]] = {
    "aiosqlite": ("aiosqlite", None),  # a core dependency
    "asyncpg": ("asyncpg", "postgres"),
    "aiomysql": ("aiomysql", "mysql"),
}


class ConnectionStringError(OrkestraError):
    """A connection string that cannot be used; the message never repeats the string itself."""


def resolve_url(connection_string: str, project_root: Path) -> URL:
    """The async-driver URL for `connection_string`; relative SQLite paths resolve against
    `project_root` (the config directory's parent, where `orkestra init` puts `data/`)."""
    try:
        url = make_url(connection_string)
    except ArgumentError:
        # SQLAlchemy's message quotes the whole string, password included.
        raise ConnectionStringError(
            "connection_string is not a URL of the form 'dialect://user@host:port/database'"
        ) from None
    drivername = ASYNC_DRIVERS.get(url.drivername, url.drivername)
    url = url.set(drivername=drivername)
    if url.get_backend_name() == "sqlite" and not is_memory_sqlite(url):
        path = Path(url.database or "")
        if not path.is_absolute():
            url = url.set(database=str((project_root / path).resolve()))
    return url


def is_memory_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def check_driver(url: URL) -> None:
    """Raise ConnectionStringError naming the install command when the URL's driver is missing."""
    driver = url.get_driver_name()
    module, extra = DRIVER_MODULES.get(driver, (driver, None))
    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a None entry in sys.modules, or a broken package
        found = False
    if found:
        return
    hint = f"pip install 'orkestra[{extra}]'" if extra else f"pip install {module}"
    raise ConnectionStringError(
        f"the {url.get_backend_name()} driver '{driver}' is not installed; install it with: {hint}"
    )
