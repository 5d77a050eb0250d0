import os
import socketserver


class ForkedTCPRequestHandler(socketserver.BaseRequestHandler):

    def handle(self):
        cur_process = os.getpid()
        print("launching a new socket handler, pid = {}".format(cur_process))
        while 1:
            self.request.recv(4096)


class ForkedTCPServer(socketserver.ForkingMixIn, socketserver.TCPServer):
    pass


if __name__ == "__main__":
    HOST, PORT = "localhost", int(os.environ.get("REPLAY_PORT", "9999"))

    server = ForkedTCPServer((HOST, PORT), ForkedTCPRequestHandler)
    print("Starting Forked Server")
    server.serve_forever()
