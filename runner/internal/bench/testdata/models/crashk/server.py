"""A thread-per-connection echo server that opens a per-connection log
file and handles no error: at its open-files limit, accept() or open()
raises OSError(EMFILE) in the main thread and the process dies with a
traceback, as naive servers do."""
import ctypes
import os
import signal
import socket
import sys
import threading

# glibc loads libgcc_s the first time a thread exits (pthread_exit
# unwinds the thread's stack). A thread that ends at the open-files limit
# cannot open it, and glibc aborts the process ("libgcc_s.so.1 must be
# installed for pthread_exit to work", SIGABRT) before the main thread's
# EMFILE traceback: make test met that once. Loaded at start, the crash is
# Python's own, which is what this model shows.
ctypes.CDLL("libgcc_s.so.1")

host, port = os.environ.get("C10K_ADDR", "127.0.0.1:9999").rsplit(":", 1)
ln = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
ln.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ln.bind((host, int(port)))
ln.listen(int(os.environ.get("C10K_BACKLOG", "4096")))
signal.signal(signal.SIGTERM, lambda *_: os._exit(0))


def serve(conn, log):
    with conn, log:
        while True:
            b = conn.recv(4096)
            if not b:
                return
            conn.sendall(b)


while True:
    conn, _ = ln.accept()
    log = open(os.devnull, "w")  # one more descriptor per connection
    threading.Thread(target=serve, args=(conn, log), daemon=True).start()
