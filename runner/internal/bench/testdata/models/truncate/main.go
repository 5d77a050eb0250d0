// Command truncate is a test model that breaks the contract: it echoes at
// most 64 KiB per connection and then closes it, so small messages pass
// and a large burst comes back cut short.
package main

import (
	"io"
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
				io.CopyN(c, c, 64<<10)
				c.Close()
			}()
		}
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	<-sig
}
