import os
import threading
import socketserver


class ThreadedTCPRequestHandler(socketserver.BaseRequestHandler):

    def handle(self):
        cur_thread = threading.current_thread()
        print("launching a new socket handler, thread = {}".format(cur_thread))
        while 1:
            self.request.recv(4096)


class ThreadedTCPServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    pass


if __name__ == "__main__":
    HOST, PORT = "localhost", int(os.environ.get("REPLAY_PORT", "9999"))

    server = ThreadedTCPServer((HOST, PORT), ThreadedTCPRequestHandler)
    print("Starting Threaded Server")
    server.serve_forever()
