"""Prefetching: run an iterator in a background thread, a few items ahead of its consumer.

The course's "use CPU threads to prefetch data": while the training step works on one
batch, the next is read and augmented. Used by :class:`visiongrad.data.DataLoader`.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator

__all__ = ["prefetched"]

_DONE = object()


def prefetched(items: Iterator, depth: int) -> Iterator:
    """Yield the items of ``items``, produced by a daemon thread ``depth`` items ahead.

    An exception in the thread is re-raised in the consumer; a consumer that stops early
    (``break``, or the generator being closed) stops the thread.
    """
    if depth < 1:
        raise ValueError(f"depth must be a positive integer, got {depth!r}")
    ready: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
        except BaseException as error:  # handed to the consumer, re-raised there
            put(error)
            return
        put(_DONE)

    worker = threading.Thread(target=produce, name="visiongrad-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = ready.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()
