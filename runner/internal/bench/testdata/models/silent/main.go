// Command silent is a test model that echoes for its first T seconds
// (C10K_TEST_SILENT_AFTER, a Go duration, default 3s) and then goes
// silent: it keeps every connection open and reads from it, but echoes
// nothing more, as a server whose workers are all stuck does.
package main

import (
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	after, err := time.ParseDuration(os.Getenv("C10K_TEST_SILENT_AFTER"))
	if err != nil || after <= 0 {
		after = 3 * time.Second
	}
	silentAt := time.Now().Add(after)
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
				defer c.Close()
				buf := make([]byte, 4096)
				for {
					n, err := c.Read(buf)
					if err != nil {
						return
					}
					if time.Now().Before(silentAt) {
						c.Write(buf[:n])
					}
				}
			}()
		}
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	<-sig
}
