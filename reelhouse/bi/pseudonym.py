"""dbt-duckdb plugin: hands the pseudonymisation key to every DuckDB connection dbt opens.

Listed in ``dbt/profiles.yml`` (``plugins: [{module: reelhouse.bi.pseudonym}]``). On each
connection and cursor it runs ``SET VARIABLE reelhouse_pseudonym_key = '<key>'`` with the key from
``$REELHOUSE_PSEUDONYM_KEY`` or, when that is unset, from the file named by
``$REELHOUSE_PSEUDONYM_KEY_FILE`` (the embedded per-database key :func:`reelhouse.bi.pseudonym_key`
creates; the Airflow DAG passes the path, never the key); the ``pseudonymise`` macro reads it with
``getvariable('reelhouse_pseudonym_key')``. The key therefore never appears in compiled SQL,
``manifest.json``, ``partial_parse.msgpack`` or dbt's logs (a Jinja ``env_var()`` would put it in
all of them). When the variable is unset the variable is NULL and the macro raises a DuckDB
``error()`` naming ``REELHOUSE_PSEUDONYM_KEY`` the moment a mart hashes an id.
"""

from __future__ import annotations

import os
from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

VARIABLE = "reelhouse_pseudonym_key"


class Plugin(BasePlugin):
    """Plugin config ``key_env`` (default ``REELHOUSE_PSEUDONYM_KEY``): the variable holding the key;
    ``key_file_env`` (default ``REELHOUSE_PSEUDONYM_KEY_FILE``): the variable naming a key file."""

    def initialize(self, config: dict[str, Any]) -> None:
        """dbt-duckdb hook: read the plugin config (``key_env``, ``key_file_env``: names of the variables holding the key or a file with it)."""
        self.key_env = str(config.get("key_env", "REELHOUSE_PSEUDONYM_KEY"))
        self.key_file_env = str(config.get("key_file_env", "REELHOUSE_PSEUDONYM_KEY_FILE"))

    def key(self) -> str:
        """The key ('' when neither variable yields one)."""
        key = os.environ.get(self.key_env, "")
        path = os.environ.get(self.key_file_env, "")
        if not key and path and os.path.exists(path):
            with open(path, encoding="ascii") as fh:
                key = fh.read().strip()
        return key

    def _set(self, conn) -> None:
        key = self.key()
        if key:
            conn.execute(f"SET VARIABLE {VARIABLE} = '" + key.replace("'", "''") + "'")

    def configure_connection(self, conn) -> None:
        """dbt-duckdb hook: set the key variable on every new connection."""
        self._set(conn)

    def configure_cursor(self, cursor) -> None:
        """dbt-duckdb hook: set the key variable on every cursor (DuckDB variables are per connection)."""
        self._set(cursor)
