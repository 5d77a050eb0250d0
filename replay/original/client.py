import socket
import sys
import threading
import time

import os  # replay: the two settings below, and the report (not in the original)


SOCKET_AMOUNT = int(os.environ.get("REPLAY_SOCKETS", "10000"))
HOST, PORT = "localhost", int(os.environ.get("REPLAY_PORT", "9999"))
data = " ".join(sys.argv[1:])


def client(ip, port, message):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.connect((ip, port))
    while 1:
        sock.sendall(message)
        time.sleep(1)
    sock.close()


# --- replay: report each thread's exception as one JSON line on stdout, then
# let it end the thread exactly as before (the traceback still goes to
# stderr). Nothing here needs a file descriptor: the failures being reported
# are often the process running out of them.
import json  # noqa: E402
import traceback  # noqa: E402


def _statements(func):
    # Which statement of func each line holds, read once at start-up while
    # descriptors are still free.
    import inspect
    lines, first = inspect.getsourcelines(func)
    names = {"socket.socket(": "socket", ".connect(": "connect",
             ".sendall(": "sendall", "time.sleep(": "sleep", ".close(": "close"}
    out = {}
    for n, text in enumerate(lines, first):
        for needle, name in names.items():
            if needle in text:
                out[n] = name
    return out


_STATEMENT = _statements(client)


def _reported(index, body):
    def run(*args):
        try:
            body(*args)
        except BaseException as e:
            line = None
            for frame, lineno in traceback.walk_tb(e.__traceback__):
                if frame.f_code is body.__code__:
                    line = lineno
            rec = {"index": index, "time": time.time(), "type": type(e).__name__,
                   "errno": getattr(e, "errno", None), "strerror": getattr(e, "strerror", None),
                   "op": _STATEMENT.get(line, "line %s" % line), "threads": threading.active_count()}
            os.write(1, (json.dumps(rec) + "\n").encode())
            raise
    return run
# --- end of the replay's report


for i in range(SOCKET_AMOUNT):
    msg = b"test message"
    client_thread = threading.Thread(target=_reported(i, client), args=(HOST, PORT, msg))
    client_thread.start()
