"""Group commit: what threads ask to write close together goes in one transaction.

A thread hands its item to ``GroupCommit.write`` and waits until the transaction that
holds it has committed: so what it wrote is durable when ``write`` returns, as if it had
written alone. Meanwhile the items of other threads gather; the next writer takes them
all at once (at most ``most`` a transaction). There is no timer: an item that finds a
connection free is written at once, alone; items gather only while the connections are
busy, which is when one transaction for many saves the most.

The writers are the waiting threads themselves (a leader and its followers, as in a
database's own group commit): at most ``leaders`` at a time, as many as the connections,
so no thread is added and no connection waits for a thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

Item = TypeVar("Item")


@dataclass(eq=False)
class _Entry(Generic[Item]):
    item: Item
    done: threading.Event = field(default_factory=threading.Event)
    result: Any = None
    error: BaseException | None = None


class GroupCommit(Generic[Item]):
    """``write(item)`` returns what ``commit(items)`` (one transaction, committed) said of
    that item, in the order given; an error of the transaction is raised to each of its
    items' threads."""

    def __init__(self, commit: Callable[[list[Item]], Sequence[Any]], *, leaders: int,
                 most: int = 100) -> None:
        self._commit = commit
        self._leaders = leaders
        self._most = most
        self._lock = threading.Lock()
        self._waiting: list[_Entry[Item]] = []
        self._writing = 0
        #: Transactions written, and the items they held (for the benchmarks' figures).
        self.transactions = 0
        self.items = 0

    def write(self, item: Item) -> Any:
        entry: _Entry[Item] = _Entry(item)
        with self._lock:
            self._waiting.append(entry)
            lead = self._writing < self._leaders
            if lead:
                self._writing += 1
        if lead:
            self._lead(entry)
        entry.done.wait()
        if entry.error is not None:
            raise entry.error
        return entry.result

    def _lead(self, own: _Entry[Item]) -> None:
        """Write what waits, batch after batch, until this thread's own item is written
        and another writer is left to take what comes next (or nothing waits)."""
        while True:
            with self._lock:
                if not self._waiting or (own.done.is_set() and self._writing > 1):
                    self._writing -= 1
                    return
                batch, self._waiting = self._waiting[:self._most], self._waiting[self._most:]
            try:
                results = self._commit([entry.item for entry in batch])
            except BaseException as error:
                for entry in batch:
                    entry.error = error
                    entry.done.set()
                continue
            with self._lock:
                self.transactions += 1
                self.items += len(batch)
            for entry, result in zip(batch, results, strict=True):
                entry.result = result
                entry.done.set()
