"""c10k: what the Python models in models/py-* share.

The model contract (models/README.md) in Python: the environment variables,
the listening socket (backlog, SO_REUSEPORT), the JSON-lines failure reports
on stdout, and a prompt exit on SIGTERM. It mirrors models/internal/modelkit
for the Go models; the contract itself is language-neutral, so this module
is one more implementation of it, not a copy of the runner's code.

A model's server.py imports it after putting this folder on sys.path,
found from the server's own location (never the working directory):

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "_pykit"))
    import c10k
"""

import dataclasses
import errno
import ipaddress
import json
import os
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

DEFAULT_ADDR = "127.0.0.1:9999"
DEFAULT_BACKLOG = 4096

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
