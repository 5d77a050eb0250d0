// Command acceptk is a test model that echoes on its first K connections
// (C10K_TEST_K, default 50) and then never accepts again, like a server at
// a hard cap. Connections past K wait in the kernel's listen queue.
package main

import (
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
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
	go func() {
		for i := 0; i < k; i++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	<-sig
}
