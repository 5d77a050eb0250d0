"""node's SO_REUSEPORT: Node 20's net cannot set it (reusePort came in Node
22.12), but it listens on a socket it is handed (server.listen({fd})). So
when C10K_REUSEPORT asks for it, ./run starts this first: it binds a socket
with SO_REUSEADDR and SO_REUSEPORT to C10K_ADDR, leaves it open across exec
and replaces itself with node, which calls listen(2) on it with the
contract's backlog. The process stays one: this pid becomes node's.

    reuseport.py NODE SERVER_JS
"""

import os
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "_pykit"))
import c10k  # noqa: E402

# server.js reads the descriptor's number from here.
ENV_LISTEN_FD = "C10K_NODE_LISTEN_FD"


def main():
    node, server = sys.argv[1:3]
    try:
        cfg = c10k.load_config()
    except c10k.ConfigError as e:
        print(f"node: {e}", file=sys.stderr)
        sys.exit(2)
    if cfg.reuseport:
        s = socket.socket(cfg.family, socket.SOCK_STREAM)
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            s.bind((cfg.host, cfg.port))
        except OSError as e:
            print(f"node: bind {cfg.host}:{cfg.port} with SO_REUSEPORT: {e}", file=sys.stderr)
            sys.exit(2)
        fd = s.detach()
        os.set_inheritable(fd, True)
        os.environ[ENV_LISTEN_FD] = str(fd)
    os.execv(node, [node, server])


if __name__ == "__main__":
    main()
