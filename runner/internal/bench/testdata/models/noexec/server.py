"""Thread-per-connection echo server keeping the model contract
(models/README.md): C10K_ADDR, C10K_BACKLOG, C10K_REUSEPORT, and SIGTERM's
default action, which ends it at once."""

import os
import socket
import threading


def serve(conn):
    with conn:
        try:
            while True:
                data = conn.recv(65536)
                if not data:
                    # The client half-closed: everything was echoed, so
                    # close our side too.
                    conn.shutdown(socket.SHUT_WR)
                    return
                conn.sendall(data)
        except OSError:
            return  # reset by the client: only this connection ends


def main():
    host, _, port = os.environ.get("C10K_ADDR", "127.0.0.1:9999").rpartition(":")
    backlog = int(os.environ.get("C10K_BACKLOG") or 4096)
    ln = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    ln.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if os.environ.get("C10K_REUSEPORT") == "1":
        ln.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    ln.bind((host.strip("[]"), int(port)))
    ln.listen(backlog)
    while True:
        conn, _ = ln.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


main()
