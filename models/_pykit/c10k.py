"""c10k: what the Python models in models/py-* share.

The model contract (models/README.md) in Python: the environment variables,
the listening socket (backlog, SO_REUSEPORT), the JSON-lines failure reports
on stdout, a prompt exit on SIGTERM, and the work per request (C10K_WORK,
C10K_SIZE: parsing, the CPU burn, the blocking call and the request framer;
each model does the wait in its own idiom). It mirrors models/internal/modelkit
for the Go models; the contract itself is language-neutral, so this module
is one more implementation of it, not a copy of the runner's code.

A model's server.py imports it after putting this folder on sys.path,
found from the server's own location (never the working directory):

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "_pykit"))
    import c10k
"""

import dataclasses
import errno
import fractions
import ipaddress
import json
import os
import re
import signal
import socket
import sys
import threading
import time

ENV_ADDR = "C10K_ADDR"
ENV_BACKLOG = "C10K_BACKLOG"
ENV_REUSEPORT = "C10K_REUSEPORT"
ENV_INSTANCE = "C10K_INSTANCE"
ENV_PRESET = "C10K_PRESET"
ENV_WORK = "C10K_WORK"
ENV_SIZE = "C10K_SIZE"

DEFAULT_ADDR = "127.0.0.1:9999"
DEFAULT_BACKLOG = 4096
DEFAULT_SIZE = 16  # bytes per request: the swarm's message size

KIND_ACCEPT = "accept"
KIND_THREAD = "thread"
KIND_FORK = "fork"
KIND_FORK_CAP = "fork_cap"
KIND_READ = "read"
KIND_WRITE = "write"

# Errors accept() returns while the server is healthy: nothing to report.
_ACCEPT_BENIGN = {errno.EAGAIN, errno.EWOULDBLOCK, errno.EINTR, errno.ECONNABORTED}


class ConfigError(ValueError):
    """A contract variable holds a value the model cannot use."""


@dataclasses.dataclass(frozen=True)
class Config:
    host: str
    port: int
    backlog: int
    backlog_set: bool  # C10K_BACKLOG was given (models with their own default need to know)
    reuseport: bool
    instance: int
    preset: str

    @property
    def family(self):
        return socket.AF_INET6 if ":" in self.host else socket.AF_INET


def int_env(name, default):
    """An integer knob; default when the variable is unset or empty."""
    v = os.environ.get(name, "").strip()
    if v == "":
        return default
    try:
        return int(v)
    except ValueError:
        raise ConfigError(f"{name}={v!r}: not an integer") from None


def bool_env(name, default):
    v = os.environ.get(name, "").strip().lower()
    if v == "":
        return default
    if v in ("1", "t", "true"):
        return True
    if v in ("0", "f", "false"):
        return False
    raise ConfigError(f"{name}={v!r}: not a boolean")


def load_config(default_backlog=DEFAULT_BACKLOG):
    """Reads the contract's variables. default_backlog is the model's own
    default when C10K_BACKLOG is unset (socketserver's is 5)."""
    addr = os.environ.get(ENV_ADDR, "").strip() or DEFAULT_ADDR
    host, sep, port = addr.rpartition(":")
    host = host.strip("[]")
    try:
        if not sep:
            raise ValueError("no port")
        ipaddress.ip_address(host)  # an IP, never a host name
        port = int(port)
    except ValueError as e:
        raise ConfigError(f"{ENV_ADDR}={addr!r}: want ip:port ({e})") from None
    backlog_set = os.environ.get(ENV_BACKLOG, "").strip() != ""
    return Config(
        host=host,
        port=port,
        backlog=int_env(ENV_BACKLOG, default_backlog),
        backlog_set=backlog_set,
        reuseport=bool_env(ENV_REUSEPORT, False),
        instance=int_env(ENV_INSTANCE, 0),
        preset=os.environ.get(ENV_PRESET, "").strip(),
    )


# The work per request (C10K_WORK). Durations are kept in integer
# nanoseconds, as Go's time.Duration, so "1.5ms" is exactly 1,500,000 here
# and in the Go models.
WORK_CPU = "cpu"
WORK_WAIT = "wait"
WORK_BLOCK = "block"
_UNIT_NS = {"ns": 1, "us": 1000, "\u00b5s": 1000, "\u03bcs": 1000, "ms": 1000_000, "s": 1000_000_000}
# One or more number-unit pairs ("1.5ms", "1s500ms"), as time.ParseDuration
# reads them, restricted to the contract's units (no sign, no m or h).
_DURATION_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s)")


def parse_duration(text):
    """Nanoseconds of a duration in Go's syntax ("200us", "1.5ms"); raises
    ValueError naming what is wrong."""
    pos, total = 0, fractions.Fraction(0)
    while pos < len(text):
        m = _DURATION_PART.match(text, pos)
        if m is None:
            raise ValueError(f"bad duration {text!r}: want a number and a unit (ns, us, ms, s), e.g. 1.5ms")
        total += fractions.Fraction(m.group(1)) * _UNIT_NS[m.group(2)]
        pos = m.end()
    ns = int(total)
    if ns <= 0:
        raise ValueError(f"bad duration {text!r}: must be more than 0")
    return ns


@dataclasses.dataclass(frozen=True)
class Work:
    """What a model does for each request before echoing it, in order: burn
    cpu_ns of the handling thread's CPU, block for block_ns, wait wait_ns in
    the model's own idiom. size is the request's length in bytes."""
    size: int = DEFAULT_SIZE
    cpu_ns: int = 0
    block_ns: int = 0
    wait_ns: int = 0

    @property
    def wait(self):
        """The wait in seconds, as sleep functions take it."""
        return self.wait_ns / 1e9

    def before_wait(self):
        """The work done in the handling thread before the wait: cpu=, then
        block=. Each model calls it where its handler runs, so an event
        loop burns and blocks in the loop, as a naive handler would."""
        if self.cpu_ns:
            burn_ns(self.cpu_ns)
        if self.block_ns:
            block_ns(self.block_ns)

    def run(self, sleep):
        """The whole work in a handler that may block its thread (a thread,
        a process, a green thread): before_wait, then sleep(seconds) for
        wait=, with the model's own sleep."""
        self.before_wait()
        if self.wait_ns:
            full_wait(sleep, self.wait)

    async def await_wait(self):
        """wait= as a coroutine sleep (asyncio, uvloop, Tornado), at least
        the whole wait on the monotonic clock."""
        if not self.wait_ns:
            return
        import asyncio  # only the coroutine models need it

        end = time.monotonic() + self.wait
        await asyncio.sleep(self.wait)
        # libuv's timers count whole milliseconds: a top-up under one may
        # fire at once, so until the clock says the wait is over.
        while (left := end - time.monotonic()) > 0:
            await asyncio.sleep(left)


def full_wait(sleep, seconds):
    """sleep(seconds), then once more for whatever the monotonic clock says
    is left, when the sleep slept but fell short: a loop's timer may fire
    early against the real clock (libuv caches its loop time at the start
    of an iteration: uvloop's 50 ms sleep once came back after 49.6 ms),
    and wait= is a lower bound. A sleep that did not sleep at all (a test's
    stand-in) is taken at its word."""
    start = time.monotonic()
    sleep(seconds)
    now = time.monotonic()
    if now - start >= seconds / 2 and (left := start + seconds - now) > 0:
        sleep(left)


def parse_work(text, size=DEFAULT_SIZE):
    """A Work from C10K_WORK's text ("cpu=200us,wait=50ms"); None when text
    is empty (no work: pure echo). Raises ConfigError naming the bad part."""
    text = text.strip()
    if text == "":
        return None
    kinds = {}
    for item in text.split(","):
        kind, sep, value = item.strip().partition("=")
        kind = kind.strip()
        if not sep or kind not in (WORK_CPU, WORK_WAIT, WORK_BLOCK):
            raise ConfigError(f"{ENV_WORK}={text!r}: bad item {item!r}: want cpu=D, wait=D or block=D")
        if kind in kinds:
            raise ConfigError(f"{ENV_WORK}={text!r}: {kind} given twice")
        try:
            kinds[kind] = parse_duration(value.strip())
        except ValueError as e:
            raise ConfigError(f"{ENV_WORK}={text!r}: {kind}: {e}") from None
    return Work(size=size, cpu_ns=kinds.get(WORK_CPU, 0), block_ns=kinds.get(WORK_BLOCK, 0),
                wait_ns=kinds.get(WORK_WAIT, 0))


def load_work():
    """The work the environment asks for (C10K_WORK, C10K_SIZE), None for
    none. A malformed value of either is a ConfigError (startup error)."""
    size = int_env(ENV_SIZE, DEFAULT_SIZE)
    if size < 1:
        raise ConfigError(f"{ENV_SIZE}={size}: want a positive number of bytes")
    return parse_work(os.environ.get(ENV_WORK, ""), size)


def burn_ns(ns):
    """Spins until the calling thread has used ns more nanoseconds of CPU
    (CLOCK_THREAD_CPUTIME_ID): the same work in every language, with no
    calibration, however often the thread is preempted meanwhile."""
    end = time.thread_time_ns() + ns
    while time.thread_time_ns() < end:
        pass


def burn(seconds):
    """burn_ns in seconds."""
    burn_ns(int(seconds * 1e9))


def block_ns(ns):
    """The naive handler's blocking call: time.sleep, looked up at each call,
    so a model that monkey-patches time (py-gevent:patched) gets its
    cooperative sleep here and every other model the real, blocking one."""
    time.sleep(ns / 1e9)


def block(seconds):
    """block_ns in seconds."""
    block_ns(int(seconds * 1e9))


class Framer:
    """Cuts one connection's byte stream into requests of size bytes; bytes
    of an incomplete request wait in it for the rest."""

    def __init__(self, size):
        self.size = size
        self._buf = bytearray()

    def feed(self, data):
        """Adds received bytes; returns the requests they complete, in order."""
        self._buf += data
        n = len(self._buf) // self.size * self.size
        if n == 0:
            return []
        reqs = [bytes(self._buf[i:i + self.size]) for i in range(0, n, self.size)]
        del self._buf[:n]
        return reqs

    def rest(self):
        """The incomplete request's bytes, taken out (echoed as they are at EOF)."""
        rest = bytes(self._buf)
        self._buf.clear()
        return rest


def echo_requests(conn, work, sleep):
    """The echo with the work per request for a handler that has a thread,
    process or green thread of its own: recv, frame, work (wait= with
    sleep, the model's own), sendall, one request after another, until EOF;
    then the incomplete request as it is. An OSError is raised with
    c10k_kind set to the kind to report (KIND_READ or KIND_WRITE)."""
    framer = Framer(work.size)
    kind = KIND_READ
    try:
        while data := conn.recv(65536):
            kind = KIND_WRITE
            for req in framer.feed(data):
                work.run(sleep)
                conn.sendall(req)
            kind = KIND_READ
        kind = KIND_WRITE
        conn.sendall(framer.rest())
    except OSError as e:
        e.c10k_kind = kind
        raise


def listen(cfg, backlog=None, blocking=True):
    """Opens the listening socket: SO_REUSEADDR, SO_REUSEPORT when asked,
    bound to the contract's address with the given (or the config's) backlog."""
    s = socket.socket(cfg.family, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if cfg.reuseport:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        s.bind((cfg.host, cfg.port))
        s.listen(cfg.backlog if backlog is None else backlog)
        s.setblocking(blocking)
    except BaseException:
        s.close()
        raise
    return s


def errno_name(err):
    """Symbolic errno ("EMFILE") of an OSError, "" for anything else."""
    n = getattr(err, "errno", None)
    if not n:
        return ""
    return errno.errorcode.get(n, str(n))


def is_peer_close(err):
    """True for the errors a peer's close or reset causes on a connection."""
    return getattr(err, "errno", None) in (errno.ECONNRESET, errno.EPIPE, errno.ENOTCONN)


class Counter:
    """Live connections, safe to change from several threads."""

    def __init__(self):
        self._lock = threading.Lock()
        self.n = 0

    def add(self, d):
        with self._lock:
            self.n += d


class Reporter:
    """Failure reports as JSON lines on stdout, coalesced as modelkit does:
    the first event of a kind and errno is written at once, later ones are
    summed and written at most once a second (a timer thread flushes what is
    waiting, started only when something waits)."""

    def __init__(self, model, instance, out=None, every=1.0):
        self.model = model
        self.instance = instance
        self.out = out or sys.stdout
        self.every = every
        self._lock = threading.Lock()
        self._last = {}
        self._pending = {}  # key -> [count, conns, msg]
        self._timer = None

    def report(self, kind, err=None, conns=0):
        key = (kind, errno_name(err))
        msg = "" if err is None else str(err)
        now = time.monotonic()
        with self._lock:
            last = self._last.get(key)
            if last is None or now - last >= self.every:
                p = self._pending.pop(key, None)
                self._write(key, (p[0] if p else 0) + 1, conns, msg)
                self._last[key] = now
                return
            p = self._pending.setdefault(key, [0, 0, ""])
            p[0] += 1
            p[1], p[2] = conns, msg
            if self._timer is None:
                self._timer = threading.Timer(self.every, self.flush)
                self._timer.daemon = True
                try:
                    start_thread(self._timer)
                except RuntimeError:
                    # No thread to be had (the very failure being reported,
                    # perhaps): the next report a second on, or the exit,
                    # writes what waits.
                    self._timer = None

    def flush(self):
        with self._lock:
            self._timer = None
            now = time.monotonic()
            for key, (count, conns, msg) in self._pending.items():
                self._write(key, count, conns, msg)
                self._last[key] = now
            self._pending.clear()

    def _write(self, key, count, conns, msg):
        t = time.time()
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % int(t % 1 * 1000)
        rec = {"time": stamp, "model": self.model, "instance": self.instance,
               "kind": key[0], "count": count, "conns": conns}
        if key[1]:
            rec["errno"] = key[1]
        if msg:
            rec["msg"] = msg
        try:
            self.out.write(json.dumps(rec) + "\n")
            self.out.flush()
        except (OSError, ValueError):
            pass  # stdout is gone; nothing useful can be done


class AcceptReporting:
    """Wraps a listening socket so that a failing accept() (EMFILE, ENFILE,
    ENOBUFS...) is reported before the library sees the error. For libraries
    that swallow accept errors (socketserver, Twisted) or only log them."""

    def __init__(self, sock, reporter, conns):
        self._sock = sock
        self._reporter = reporter
        self._conns = conns

    def accept(self):
        try:
            return self._sock.accept()
        except OSError as e:
            if e.errno not in _ACCEPT_BENIGN:
                self._reporter.report(KIND_ACCEPT, e, self._conns())
                e._c10k_reported = True  # for loops that see it again
            raise

    def __getattr__(self, name):
        return getattr(self._sock, name)


def start_thread(t):
    """Starts thread t with SIGTERM blocked in it. Python runs signal handlers
    in the main thread only; a SIGTERM the kernel hands to another thread
    waits until the main thread wakes by itself (socketserver polls every
    0.5 s). With every other thread blocking it, the main thread gets it,
    its poll() returns EINTR and the handler runs at once."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    try:
        t.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def terminate(reporter=None, before=None):
    """Exits at once with status 0: runs before() (e.g. signal children),
    writes pending reports, then os._exit, which ends every thread and
    closes every socket without waiting for connections to finish."""
    try:
        if before is not None:
            before()
        if reporter is not None:
            reporter.flush()
    finally:
        os._exit(0)


def exit_on_sigterm(reporter=None, before=None):
    """SIGTERM ends the process promptly (see terminate)."""
    signal.signal(signal.SIGTERM, lambda signum, frame: terminate(reporter, before))


def main(serve):
    """Runs serve(); a bad configuration or a failure to listen is one line
    on stderr and exit status 2, as the Go models do."""
    try:
        serve()
    except (ConfigError, OSError) as e:
        print(f"{os.path.basename(sys.argv[0])}: {e}", file=sys.stderr)
        sys.exit(2)
