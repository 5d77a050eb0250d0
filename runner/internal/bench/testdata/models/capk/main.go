// Command capk is a test model with a cap on live connections: it echoes
// on up to K at once (C10K_TEST_K, default 50) and closes every connection
// accepted beyond that right after accepting it, as a server with a
// connection limit does.
package main

import (
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
)

func main() {
	k, _ := strconv.Atoi(os.Getenv("C10K_TEST_K"))
	if k <= 0 {
		k = 50
	}
	ln, err := net.Listen("tcp", os.Getenv("C10K_ADDR"))
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(2)
	}
	var live atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if live.Add(1) > int64(k) {
				live.Add(-1)
				c.Close()
				continue
			}
			go func() {
				io.Copy(c, c)
				c.Close()
				live.Add(-1)
			}()
		}
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	<-sig
}
