// Command late is a test model that echoes every read, intact and in
// order, but only after a delay (C10K_TEST_LATE, a Go duration, default
// 1.5s): a server whose handler waits on a slow backend before it
// answers. Readiness must accept it, and the diagnosis must say the echoes
// came back late, and by how much.
package main

import (
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	late, err := time.ParseDuration(os.Getenv("C10K_TEST_LATE"))
	if err != nil || late <= 0 {
		late = 1500 * time.Millisecond
	}
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
			go serve(c, late)
		}
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	<-sig
}

// serve reads on while earlier reads wait out their delay, so a message
// every second is answered 1.5 s after it came, every time.
func serve(c net.Conn, late time.Duration) {
	type chunk struct {
		b  []byte
		at time.Time
	}
	out := make(chan chunk, 1024)
	go func() {
		defer c.Close()
		for ch := range out {
			time.Sleep(time.Until(ch.at.Add(late)))
			if _, err := c.Write(ch.b); err != nil {
				return
			}
		}
	}()
	defer close(out)
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		out <- chunk{append([]byte(nil), buf[:n]...), time.Now()}
	}
}
