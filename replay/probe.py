"""What this machine's Python and C library do, for the replay's verdict.

Not part of the original experiment: c10klab runs it once before the replay
and reads one JSON object from stdout.

- socketserver's defaults, read from the library the replay runs on:
  ForkingMixIn.max_children and TCPServer.request_queue_size (the listen
  backlog).
- What getaddrinfo("localhost") returns when the process has no descriptor
  left: the raw return code and errno from the C library (through ctypes),
  and what Python raises for the same call.
"""
import ctypes
import ctypes.util
import json
import os
import platform
import resource
import socket
import socketserver

out = {
    "python": platform.python_version(),
    "libc": " ".join(platform.libc_ver()),
    "max_children": socketserver.ForkingMixIn.max_children,
    "request_queue_size": socketserver.TCPServer.request_queue_size,
}



class addrinfo(ctypes.Structure):
    _fields_ = [("ai_flags", ctypes.c_int), ("ai_family", ctypes.c_int), ("ai_socktype", ctypes.c_int),
                ("ai_protocol", ctypes.c_int), ("ai_addrlen", ctypes.c_uint32), ("ai_addr", ctypes.c_void_p),
                ("ai_canonname", ctypes.c_char_p), ("ai_next", ctypes.c_void_p)]


libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
libc.getaddrinfo.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(addrinfo), ctypes.POINTER(ctypes.c_void_p)]
libc.getaddrinfo.restype = ctypes.c_int
libc.gai_strerror.argtypes = [ctypes.c_int]
libc.gai_strerror.restype = ctypes.c_char_p
eai = {getattr(socket, n): n for n in dir(socket) if n.startswith("EAI_")}

# Use up every descriptor below a small limit, as the replay's client does.
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (64, hard))
held = []
try:
    while True:
        held.append(os.open("/dev/null", os.O_RDONLY))
except OSError as e:
    out["exhausted_errno"] = e.errno

# As socket.connect(("localhost", port)) on an AF_INET socket asks: family
# AF_INET, no service, no flags (CPython's setipaddr).
hints = addrinfo(ai_family=socket.AF_INET)
res = ctypes.c_void_p()
ctypes.set_errno(0)
rc = libc.getaddrinfo(b"localhost", None, ctypes.byref(hints), ctypes.byref(res))
err = ctypes.get_errno()
out["getaddrinfo"] = {"rc": rc, "name": eai.get(rc, "0" if rc == 0 else str(rc)),
                      "errno": err, "strerror": libc.gai_strerror(rc).decode()}
try:
    socket.getaddrinfo("localhost", None, socket.AF_INET)
    out["python_raises"] = None
except OSError as e:
    out["python_raises"] = {"type": type(e).__name__, "errno": e.errno}

for fd in held:
    os.close(fd)
print(json.dumps(out))
