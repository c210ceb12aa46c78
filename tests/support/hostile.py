"""Hostile API bodies sent to a real server at once, while ``/healthz`` is timed and the
workers' memory watched: shared by the load test and ``bench/hostile_bodies.py``."""

from __future__ import annotations

import os
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

#: A batch of one job whose payload is 333,300 empty lists (999,958 bytes) and whose type
#: code no type has.
LISTS = 333_300
HOSTILE = ('{"jobs": [{"requests": [{"type_code": "nope", "payload": ['
           + ",".join(["[]"] * LISTS) + "]}]}]}").encode()


@dataclass
class Load:
    """What a load run saw: the answers' statuses, /healthz's times (seconds), and the
    workers' largest resident memory (bytes, the kernel's high-water mark)."""

    statuses: Counter = field(default_factory=Counter)
    healthz: list[float] = field(default_factory=list)
    peak_rss: int = 0


def post(url: str, secret: str, body: bytes) -> int:
    request = urllib.request.Request(
        f"{url}/api/v1/jobs/batch", data=body, method="POST",
        headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status
    except urllib.error.HTTPError as error:
        error.read()
        return error.code


def healthz_seconds(url: str) -> float:
    """How long /healthz took to answer; unanswered after 30 s, the time it was waited."""
    started = time.monotonic()
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=30) as response:
            response.read()
    except OSError:  # a timeout: the figure says how long it went unanswered
        pass
    return time.monotonic() - started


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (gunicorn's workers)."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as stat:
                    # The parent's pid is the 2nd field after the command's ")".
                    if int(stat.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(name))
            except (OSError, IndexError, ValueError):
                continue
    return found


def peak_rss(pid: int) -> int:
    """``VmHWM`` of the process: its largest resident set since it started, in bytes."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def run(url: str, secret: str, master: int, *, clients: int = 32, rounds: int = 3,
        body: bytes = HOSTILE) -> Load:
    """``clients`` threads each post ``body`` ``rounds`` times; meanwhile /healthz is
    asked again and again, one request at a time, until they are done."""
    load = Load()
    done = threading.Event()

    def client(_: int) -> list[int]:
        return [post(url, secret, body) for _ in range(rounds)]

    with ThreadPoolExecutor(clients) as pool:
        answers = pool.map(client, range(clients))
        watcher = threading.Thread(target=lambda: _watch(url, load, done))
        watcher.start()
        for statuses in answers:
            load.statuses.update(statuses)
        done.set()
        watcher.join()
    load.peak_rss = max(peak_rss(worker) for worker in children(master))
    return load


def _watch(url: str, load: Load, done: threading.Event) -> None:
    while not done.is_set():
        load.healthz.append(healthz_seconds(url))
        done.wait(0.1)
