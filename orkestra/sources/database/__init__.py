"""The `database` source type (SPEC §3): SQL operations on pooled SQLAlchemy async engines.

config.py     the `database:` section models
urls.py       connection string -> async driver URL, SQLite paths, driver checks
statement.py  SQL compiled once: placeholders, IN-lists, read-only detection
results.py    rows -> JSON-compatible values, shaped by `result`
failures.py   driver exceptions -> SourceError without secrets or bound values
pool.py       one database: engine lifecycle, health, running a statement
source.py     DatabaseSourceType and its Operation
"""

from orkestra.sources.database.config import DatabaseOperationConfig as DatabaseOperationConfig
from orkestra.sources.database.config import DatabaseSection as DatabaseSection
from orkestra.sources.database.config import DatabaseSourceConfig as DatabaseSourceConfig
from orkestra.sources.database.source import DatabaseOperation as DatabaseOperation
from orkestra.sources.database.source import DatabaseSourceType as DatabaseSourceType
