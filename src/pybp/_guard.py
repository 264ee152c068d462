"""Who may change a network's parameters, and consistent copies of them.

Each Network holds one Guard.  Training (Trainer.fit/partial_fit, hence
Network.fit) and parameter assignment (``net.params = ...``,
``net.weights[l] = ...``, ``net.biases[l] = ...``) enter it as *writers*.
One thread at a time may be a writer: a writer from a second thread is
refused at once with a RuntimeError rather than queued, because two threads
training one network is almost always a bug that silent serialisation would
hide (the result would depend on thread timing).  The writing thread may
re-enter (a callback running inside fit may assign parameters or fit again).

Readers (predict, evaluate, loss, gradients) take no lock, so predictions
stay fast and run in parallel.  A reader running while another thread trains
the same network reads the buffer as it is at that moment, which may be in
the middle of an update.  ``Guard.snapshot`` gives a consistent copy instead:
with no writer it copies at once (a writer arriving meanwhile waits for the
copy, which takes microseconds, instead of being refused); while another
thread trains, the training thread itself makes the copy at the next point
where the parameters are whole -- its progress check between batches (about
every millisecond) or an epoch end (Trainer calls ``serve``) -- so the copy
is never torn.

The guard is per object: copies, pickles and loaded networks get a new one.
"""
import threading
import weakref


class Guard:
    """The writer slot and pending snapshot requests of one network."""

    __slots__ = ("_net", "_mutex", "_owner", "_depth", "_copying",
                 "_requests")

    def __init__(self, net):
        self._net = weakref.ref(net)   # no cycle: the net owns its guard
        self._mutex = threading.Condition(threading.Lock())
        self._owner = None      # the thread that writes, or None
        self._depth = 0         # re-entries of that thread
        self._copying = 0       # snapshots being taken with no writer
        self._requests = []     # [event, result] lists waiting for serve()

    def writing(self, what):
        """Context manager: be the writer for `what` (e.g. "fit"), or
        RuntimeError if another thread is."""
        return _Writing(self, what)

    @property
    def busy(self):
        """True while some thread is writing (training or assigning)."""
        return self._owner is not None

    def _enter(self, what):
        me = threading.current_thread()
        with self._mutex:
            while True:
                owner = self._owner
                if owner is not None and owner is not me:
                    if owner.is_alive():
                        raise RuntimeError(
                            f"this Network is being trained by another "
                            f"thread ({owner.name}); {what} from thread "
                            f"{me.name} was refused, not queued: train a "
                            "net.copy() in each thread, or wait for the "
                            "other fit to return (net.snapshot() gives a "
                            "consistent copy meanwhile)")
                    # A thread that died holding the slot cannot release it.
                    self._owner, self._depth = None, 0
                # A snapshot being copied delays a new writer (microseconds)
                # instead of refusing it; the owner is looked at again after.
                if owner is me or not self._copying:
                    break
                self._mutex.wait()
            self._owner, self._depth = me, self._depth + 1

    def _exit(self):
        with self._mutex:
            self._depth -= 1
            if self._depth > 0:
                return
            self._owner = None
            requests, self._requests = self._requests, []
        # The writer has finished: hand waiting snapshot takers their copy.
        for request in requests:
            _fulfil(request, self._net())

    def serve(self):
        """Called by the writing thread at a point where the parameters are
        whole (between batches or epochs): give every waiting snapshot its
        copy.  Cheap when none waits (it is called every millisecond)."""
        if not self._requests:
            return
        with self._mutex:
            requests, self._requests = self._requests, []
        for request in requests:
            _fulfil(request, self._net())

    def snapshot(self, timeout):
        """A consistent net.copy() (see the module docstring); TimeoutError
        if another thread's training reaches no batch or epoch end within
        timeout seconds (None: wait as long as it takes)."""
        me = threading.current_thread()
        with self._mutex:
            owner = self._owner
            if owner is None or owner is me or not owner.is_alive():
                self._copying += 1
                request = None
            else:
                request = [threading.Event(), None]
                self._requests.append(request)
        if request is None:
            try:
                return self._net().copy()
            finally:
                with self._mutex:
                    self._copying -= 1
                    self._mutex.notify_all()
        if not request[0].wait(timeout):
            with self._mutex:
                if request in self._requests:
                    self._requests.remove(request)
                    raise TimeoutError(
                        f"no consistent snapshot within {timeout} s: the "
                        "training thread reached no batch or epoch end "
                        "(snapshots are taken there; it may be busy in a "
                        "callback), use a longer timeout")
            request[0].wait()   # served just now, by the training thread
        if isinstance(request[1], BaseException):
            raise RuntimeError("the snapshot failed in the training "
                               "thread") from request[1]
        return request[1]


def _fulfil(request, net):
    try:
        request[1] = net.copy()
    except BaseException as exc:  # handed over, re-raised by the taker
        request[1] = exc
    request[0].set()


class _Writing:
    """The context manager of Guard.writing.  The slot is taken as the last
    step of __enter__ and released in __exit__ whatever ends the block
    (exception, KeyboardInterrupt), so it cannot stay held."""

    __slots__ = ("_guard", "_what")

    def __init__(self, guard, what):
        self._guard, self._what = guard, what

    def __enter__(self):
        self._guard._enter(self._what)
        return self

    def __exit__(self, *exc):
        self._guard._exit()
        return False
