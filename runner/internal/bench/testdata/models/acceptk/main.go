// Command acceptk is a test model that echoes on its first K connections
// (C10K_TEST_K, default 50) and then never accepts again, like a server at
// a hard cap. Connections past K wait in the kernel's listen queue, whose
// length is C10K_BACKLOG (net.Listen would ask for somaxconn instead).
package main

import (
	"io"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"syscall"
)

func listen(addr string, backlog int) (net.Listener, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, err
	}
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}); err != nil {
		return nil, err
	}
	if err := syscall.Listen(fd, backlog); err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "listener")
	defer f.Close()
	return net.FileListener(f)
}

func main() {
	k, _ := strconv.Atoi(os.Getenv("C10K_TEST_K"))
	if k <= 0 {
		k = 50
	}
	backlog, _ := strconv.Atoi(os.Getenv("C10K_BACKLOG"))
	if backlog <= 0 {
		backlog = 4096
	}
	ln, err := listen(os.Getenv("C10K_ADDR"), backlog)
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
