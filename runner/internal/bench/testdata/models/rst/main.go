// Command rst is a test model that echoes a connection's first read and
// then resets the connection (SO_LINGER 0, close): every client sees
// ECONNRESET once it has had one echo.
package main

import (
	"net"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ln, err := net.Listen("tcp", os.Getenv("C10K_ADDR"))
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(2)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				buf := make([]byte, 4096)
				n, err := c.Read(buf)
				if err == nil {
					c.Write(buf[:n])
				}
				c.(*net.TCPConn).SetLinger(0)
				c.Close()
			}()
		}
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	<-sig
}
