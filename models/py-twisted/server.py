"""py-twisted: a Protocol on Twisted's epoll reactor, one event loop in one
thread calling dataReceived for each readable connection. Half-close is
handled (IHalfCloseableProtocol): after the client's FIN, what was received
is written back, then the connection is closed."""

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


class Factory(protocol.Factory):
    protocol = Echo

    def __init__(self):
        self.live = 0


def serve():
    cfg = c10k.load_config()
    rep = c10k.Reporter(MODEL, cfg.instance)
    factory = Factory()
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
