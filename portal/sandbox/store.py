"""The sandbox's state: every account of every carrier, in memory, optionally in SQLite.

Handlers change ``account.data`` in place and call :meth:`Store.save`; with a state file
the account is written to SQLite straight away, so a restart (or a crash) keeps it.
Writes are per account, as one JSON document, which keeps the store ignorant of carriers.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator

from .base import Account


class Store:
    def __init__(self, path: str | None = None) -> None:
        self.path = path
        self.accounts: dict[str, Account] = {}
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        if path:
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS accounts (id TEXT PRIMARY KEY, carrier TEXT, doc TEXT)"
            )
            for (doc,) in self._db.execute("SELECT doc FROM accounts"):
                account = Account.from_json(json.loads(doc))
                self.accounts[account.id] = account

    def add(self, account: Account) -> None:
        self.accounts[account.id] = account
        self.save(account)

    def get(self, account_id: str) -> Account | None:
        return self.accounts.get(account_id)

    def by_carrier(self, carrier: str) -> Iterator[Account]:
        return (a for a in self.accounts.values() if a.carrier == carrier)

    def save(self, account: Account) -> None:
        if self._db is None:
            return
        doc = json.dumps(account.to_json(), separators=(",", ":"))
        with self._lock:
            self._db.execute(
                "INSERT INTO accounts (id, carrier, doc) VALUES (?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET doc = excluded.doc",
                (account.id, account.carrier, doc),
            )

    def remove(self, account_id: str) -> None:
        self.accounts.pop(account_id, None)
        if self._db is not None:
            with self._lock:
                self._db.execute("DELETE FROM accounts WHERE id = ?", (account_id,))

    def reset(self) -> None:
        self.accounts.clear()
        if self._db is not None:
            with self._lock:
                self._db.execute("DELETE FROM accounts")

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
