"""Ends the chat pages' endless event streams when the server is asked to stop.

uvicorn waits for open responses before it runs the lifespan's shutdown, so an SSE stream would
hold Ctrl+C (or `docker stop`) until the browser went away. The server's own signal handlers are in
place by the time the lifespan starts; this wraps them to also call `on_stop`, and puts them back
when the lifespan ends.
"""

import asyncio
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def on_stop_signal(on_stop: Callable[[], None]) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    loop = asyncio.get_running_loop()
    previous: dict[signal.Signals, Any] = {}
    for sig in SIGNALS:
        handler = signal.getsignal(sig)
        if not callable(handler):
            continue

        def wrapper(signum: int, frame: FrameType | None, handler: Any = handler) -> None:
            loop.call_soon_threadsafe(on_stop)
            handler(signum, frame)

        previous[sig] = signal.signal(sig, wrapper)
    try:
        yield
    finally:
        for number, original in previous.items():
            signal.signal(number, original)
