// Command pool is a test model that accepts every connection but serves
// only K at a time (C10K_TEST_K, default 100): K workers each take an
// accepted connection and echo on it until it closes, as a thread pool of
// K does. The rest are held, open and unread. The diagnosis must say it
// serves about K of the N it holds.
package main

import (
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
)

func main() {
	k, err := strconv.Atoi(os.Getenv("C10K_TEST_K"))
	if err != nil || k <= 0 {
		k = 100
	}
	ln, err := net.Listen("tcp", os.Getenv("C10K_ADDR"))
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(2)
	}
	queue := make(chan net.Conn, 1<<16)
	for range k {
		go func() {
			buf := make([]byte, 4096)
			for c := range queue {
				for {
					n, err := c.Read(buf)
					if err != nil {
						break
					}
					if _, err := c.Write(buf[:n]); err != nil {
						break
					}
				}
				c.Close()
			}
		}()
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			queue <- c
		}
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	<-sig
}
