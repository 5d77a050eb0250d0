"""py-uvloop: py-asyncio's server, the same file, on uvloop (libuv's event
loop) instead of asyncio's selector loop."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "py-asyncio"))
import server  # noqa: E402  (models/py-asyncio/server.py)

if __name__ == "__main__":
    server.main("py-uvloop", loop="uvloop")
