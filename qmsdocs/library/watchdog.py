"""The watchdog thread that stops a render past its time or memory, whatever the template is doing."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any

from qmsdocs.library.limits import RenderLimitError

#: Seconds between two checks of the time and memory limits by the watchdog thread.
TICK_SECONDS = 0.05


class _Watch:
    """One render under way, as the watchdog sees it."""

    __slots__ = ("deadline", "fired", "memory_cap", "memory_message", "thread", "time_message")

    def __init__(
        self,
        thread: int,
        deadline: float,
        memory_cap: int,
        time_message: Callable[[], str],
        memory_message: Callable[[], str],
    ) -> None:
        self.thread = thread
        self.deadline = deadline
        self.memory_cap = memory_cap
        self.time_message = time_message
        self.memory_message = memory_message
        self.fired = False


class _Watchdog:
    """A daemon thread that stops renders past their time or memory, whatever they are doing.

    Every :data:`TICK_SECONDS` it checks each render under way and, once one is past a limit, raises a
    RenderLimitError in the thread that renders, at the next instruction of the interpreter (CPython's
    ``PyThreadState_SetAsyncExc``, what a Ctrl-C does to the main thread). So a loop that calls nothing
    is stopped too, in any thread, and no signal handler or timer of the process is touched. The
    exception is raised at most once per render, and only while it is under way: :meth:`stop` takes
    the lock the thread fires under and clears an exception not raised yet.
    """

    def __init__(self) -> None:
        self._reset()
        if hasattr(os, "register_at_fork"):  # a forked worker has the lock but not the thread
            os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._watches: dict[int, _Watch] = {}
        self._thread: threading.Thread | None = None
        self._quit = threading.Event()
        self._raise: Callable[[int, Any], int] | None = None
        #: the resident memory of the process at the watchdog's last tick (0 before its first)
        self.resident = 0

    def start(
        self,
        deadline: float,
        memory_cap: int,
        time_message: Callable[[], str],
        memory_message: Callable[[], str],
    ) -> _Watch | None:
        """Watch the render the calling thread starts; None where exceptions cannot be raised in a thread."""
        if self._thread is None and not self._start_thread():
            return None
        watch = _Watch(threading.get_ident(), deadline, memory_cap, time_message, memory_message)
        with self._lock:
            self._watches[watch.thread] = watch
        return watch

    def stop(self, watch: _Watch | None) -> None:
        """The render of *watch* has ended: forget it, and drop its exception if it is still pending."""
        if watch is None:
            return
        with self._lock:
            if self._watches.get(watch.thread) is watch:
                del self._watches[watch.thread]
            if watch.fired and self._raise is not None:
                self._raise(watch.thread, None)

    def _start_thread(self) -> bool:
        try:
            import ctypes

            set_async_exc = ctypes.pythonapi.PyThreadState_SetAsyncExc
        except (ImportError, AttributeError):  # not CPython: the hooks alone check the limits
            return False
        set_async_exc.restype = ctypes.c_int

        def raise_in(thread: int, error: type[BaseException] | None) -> int:
            # None passes a NULL pointer, which clears the thread's pending exception
            return int(
                set_async_exc(ctypes.c_ulong(thread), None if error is None else ctypes.py_object(error))
            )

        self._raise = raise_in
        self._quit = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(self._quit,), name="qmsdocs render watchdog", daemon=True
        )
        self._thread.start()
        return True

    def stop_thread(self) -> None:
        """End the thread (the next render starts it again): before a fork, which copies one thread
        only and which Python 3.12 warns about in a process that has several."""
        thread = self._thread
        if thread is None:
            return
        self._quit.set()
        thread.join()
        self._thread = None

    def _run(self, stop: threading.Event) -> None:
        while not stop.wait(TICK_SECONDS):
            self.resident = resident = resident_bytes()
            if not self._watches:
                continue
            now = time.monotonic()
            with self._lock:
                for watch in self._watches.values():
                    if watch.fired:
                        continue
                    if now > watch.deadline:
                        message = watch.time_message()
                    elif watch.memory_cap and resident > watch.memory_cap:
                        message = watch.memory_message()
                    else:
                        continue
                    watch.fired = True
                    # The interpreter raises a class without arguments: one made for this message.
                    error = type("RenderLimitError", (_Stopped,), {"text": message})
                    if self._raise is not None:
                        self._raise(watch.thread, error)


class _Stopped(RenderLimitError):
    """A render stopped by the watchdog (subclassed per message: the interpreter raises a class)."""

    text = "the render went past its limits"

    def __init__(self, *args: Any) -> None:
        super().__init__(*(args or (self.text,)))


WATCHDOG = _Watchdog()


def stop_watchdog() -> None:
    """End the watchdog thread of this process, if it runs (see :meth:`_Watchdog.stop_thread`)."""
    WATCHDOG.stop_thread()


def resident_bytes() -> int:
    """The resident memory of this process in bytes; 0 when the system does not say."""
    try:
        fd = os.open("/proc/self/statm", os.O_RDONLY)
        try:
            data = os.read(fd, 128)
        finally:
            os.close(fd)
        return int(data.split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0


_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
