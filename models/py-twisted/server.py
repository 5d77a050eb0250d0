"""py-twisted: a Protocol on Twisted's epoll reactor, one event loop in one
thread calling dataReceived for each readable connection. Half-close is
handled (IHalfCloseableProtocol): after the client's FIN, what was received
is written back, then the connection is closed.

With C10K_WORK set, each C10K_SIZE-byte request is worked on before its
echo, one request of a connection after another: cpu= and block= in the
reactor's thread (block= stalls the reactor, on purpose), wait= as a
reactor.callLater that writes the echo and starts the next request."""

import collections
import os
import signal
import sys

from twisted.internet import epollreactor

epollreactor.install()

from twisted.internet import protocol, reactor  # noqa: E402
from twisted.internet.interfaces import IHalfCloseableProtocol  # noqa: E402
from zope.interface import implementer  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "_pykit"))
import c10k  # noqa: E402

MODEL = "py-twisted"


@implementer(IHalfCloseableProtocol)
class Echo(protocol.Protocol):
    def connectionMade(self):
        self.factory.live += 1
        # The transport is its own producer: when its write buffer is full
        # (a client that does not read) it stops reading that client.
        self.transport.registerProducer(self.transport, True)

    def dataReceived(self, data):
        self.transport.write(data)

    def readConnectionLost(self):
        # Unregister first: a paused producer would keep loseConnection
        # waiting for a resume that a half-closed reader never asks for.
        self.transport.unregisterProducer()
        self.transport.loseConnection()  # writes what is buffered, then closes

    def writeConnectionLost(self):
        self.transport.loseConnection()

    def connectionLost(self, reason):
        self.factory.live -= 1


@implementer(IHalfCloseableProtocol)
class WorkEcho(Echo):
    """Echo with the work per request (C10K_WORK). Complete requests queue
    up; the one at the head is worked on, and its echo written when its
    wait's delayed call fires, which then starts the next. The transport
    stops producing (reading) while requests wait, so a client's further
    bytes stay in the kernel, as with a thread that works before it reads."""

    def connectionMade(self):
        super().connectionMade()
        self.framer = c10k.Framer(self.factory.work.size)
        self.queue = collections.deque()
        self.pending = None  # the delayed call of the request in its wait
        self.eof = False

    def dataReceived(self, data):
        idle = not self.queue
        self.queue.extend(self.framer.feed(data))
        if idle and self.queue:
            self.transport.pauseProducing()
            self.next()

    def next(self):
        """Works on the request at the head of the queue."""
        work = self.factory.work
        work.before_wait()
        if work.wait_ns:
            self.pending = reactor.callLater(work.wait, self.done)
        else:
            self.done()

    def done(self):
        self.pending = None
        self.transport.write(self.queue.popleft())
        if self.queue:
            self.next()
        elif self.eof:
            self.finish()
        else:
            self.transport.resumeProducing()

    def readConnectionLost(self):
        self.eof = True
        if not self.queue:
            self.finish()

    def finish(self):
        self.transport.write(self.framer.rest())  # EOF: the incomplete request as it is
        super().readConnectionLost()

    def connectionLost(self, reason):
        if self.pending is not None:
            self.pending.cancel()
            self.pending = None
        super().connectionLost(reason)


class Factory(protocol.Factory):
    protocol = Echo

    def __init__(self, work=None):
        self.live = 0
        self.work = work
        if work is not None:
            self.protocol = WorkEcho


def serve():
    cfg = c10k.load_config()
    work = c10k.load_work()
    rep = c10k.Reporter(MODEL, cfg.instance)
    factory = Factory(work)
    sock = c10k.listen(cfg, blocking=False)
    port = reactor.adoptStreamPort(sock.fileno(), cfg.family, factory)
    sock.close()  # the port holds its own duplicate
    # Twisted logs accept() errors (and closes clients on EMFILE with its
    # reserved descriptor); report them on the way.
    port.socket = c10k.AcceptReporting(port.socket, rep, lambda: factory.live)
    c10k.exit_on_sigterm(rep)
    reactor.run(installSignalHandlers=False)


if __name__ == "__main__":
    c10k.main(serve)
