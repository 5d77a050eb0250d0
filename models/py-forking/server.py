"""py-forking: socketserver.ForkingMixIn + TCPServer, one forked process per
connection doing blocking recv/sendall: the original experiment's server.
Python's own defaults are kept (at most 40 children, listen backlog 5)
unless C10K_MAX_CHILDREN, C10K_BACKLOG or C10K_PRESET=raised raise them
(README.md).

With C10K_WORK set, each C10K_SIZE-byte request is worked on in its
connection's child process before its echo: cpu= burns, block= and wait=
are both time.sleep in the child."""

import os
import signal
import socketserver
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "_pykit"))
import c10k  # noqa: E402

MODEL = "py-forking"
ENV_MAX_CHILDREN = "C10K_MAX_CHILDREN"
# C10K_PRESET=raised: the contract's backlog and no practical cap on children.
RAISED_MAX_CHILDREN = 1 << 30


class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        if self.server.work is not None:
            try:
                c10k.echo_requests(self.request, self.server.work, time.sleep)
            except OSError:
                pass  # in a child: its one connection ends, nothing to keep
            return
        while True:
            try:
                data = self.request.recv(65536)
            except OSError:
                return  # in a child: its one connection ends, nothing to keep
            if not data:
                return  # EOF (half-close): shutdown_request sends our FIN
            try:
                self.request.sendall(data)
            except OSError:
                return


class Server(socketserver.ForkingMixIn, socketserver.TCPServer):
    allow_reuse_address = True

    def __init__(self, cfg, rep, max_children, work=None):
        self.rep = rep
        self.work = work
        self.max_children = max_children
        self.allow_reuse_port = cfg.reuseport
        self.request_queue_size = cfg.backlog
        super().__init__((cfg.host, cfg.port), Echo)
        # socketserver swallows accept() errors; report them on the way.
        self.socket = c10k.AcceptReporting(self.socket, rep, self.live)

    def live(self):
        return len(self.active_children or ())

    def collect_children(self, *, blocking=False):
        # At the cap ForkingMixIn blocks in waitpid until a child exits and
        # accepts nothing meanwhile: the listen queue fills behind it.
        if self.live() >= self.max_children:
            self.rep.report(c10k.KIND_FORK_CAP, None, self.live())
        super().collect_children(blocking=blocking)

    def process_request(self, request, client_address):
        try:
            super().process_request(request, client_address)
        except OSError as e:
            # fork() failed: EAGAIN (pid_max, pids.max, RLIMIT_NPROC) or ENOMEM.
            if os.getpid() == self.parent:
                self.rep.report(c10k.KIND_FORK, e, self.live())
            raise  # socketserver closes the connection

    def handle_error(self, request, client_address):
        pass  # reported above; socketserver would print a traceback per connection

    def kill_children(self):
        for pid in list(self.active_children or ()):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def serve():
    cfg = c10k.load_config(default_backlog=socketserver.TCPServer.request_queue_size)
    max_children = socketserver.ForkingMixIn.max_children
    if cfg.preset == "raised":
        max_children = RAISED_MAX_CHILDREN
        if not cfg.backlog_set:
            cfg = c10k.dataclasses.replace(cfg, backlog=c10k.DEFAULT_BACKLOG)
    elif cfg.preset:
        raise c10k.ConfigError(f"{c10k.ENV_PRESET}={cfg.preset!r}: presets are raised")
    max_children = c10k.int_env(ENV_MAX_CHILDREN, max_children)
    if max_children < 1:
        raise c10k.ConfigError(f"{ENV_MAX_CHILDREN}={max_children}: want at least 1")
    work = c10k.load_work()
    rep = c10k.Reporter(MODEL, cfg.instance)
    srv = Server(cfg, rep, max_children, work)
    srv.parent = os.getpid()
    # The parent kills its children on SIGTERM, so none outlives it even when
    # only the parent is signalled; a child has the default action (dies).
    c10k.exit_on_sigterm(rep, before=srv.kill_children)
    os.register_at_fork(after_in_child=lambda: signal.signal(signal.SIGTERM, signal.SIG_DFL))
    srv.serve_forever()


if __name__ == "__main__":
    c10k.main(serve)
