// Command badmodel is an echo server that keeps the model contract except
// for the one rule BAD names, so the conformance tests can watch each
// check fail on the behaviour it exists to catch.
//
//	BAD=ignore_term    ignores SIGTERM
//	BAD=exit_status    exits with status 3 on SIGTERM
//	BAD=orphan         leaves a child in a session of its own behind
//	BAD=reuse_never    ignores C10K_REUSEPORT=1
//	BAD=reuse_always   sets SO_REUSEPORT unasked
//	BAD=backlog        ignores C10K_BACKLOG
//	BAD=noisy          reports a failure for every clean close
package main

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

func main() {
	if err := run(os.Getenv("BAD")); err != nil {
		fmt.Fprintln(os.Stderr, "badmodel:", err)
		os.Exit(1)
	}
}

func run(bad string) error {
	ln, err := listen(bad)
	if err != nil {
		return err
	}
	term := make(chan os.Signal, 1)
	if bad == "ignore_term" {
		signal.Ignore(syscall.SIGTERM)
	} else {
		signal.Notify(term, syscall.SIGTERM)
	}
	if bad == "orphan" {
		child := exec.Command("sleep", "30")
		child.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := child.Start(); err != nil {
			return err
		}
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				io.Copy(c, c)
				c.Close()
				if bad == "noisy" {
					fmt.Println(`{"kind":"read","errno":"EIO","count":1}`)
				}
			}()
		}
	}()
	<-term
	if bad == "exit_status" {
		os.Exit(3)
	}
	return nil
}

func listen(bad string) (net.Listener, error) {
	addr, err := netip.ParseAddrPort(os.Getenv("C10K_ADDR"))
	if err != nil {
		return nil, err
	}
	backlog := 4096
	if s := os.Getenv("C10K_BACKLOG"); s != "" && bad != "backlog" {
		if backlog, err = strconv.Atoi(s); err != nil {
			return nil, err
		}
	}
	reuse := os.Getenv("C10K_REUSEPORT") == "1"
	switch bad {
	case "reuse_never":
		reuse = false
	case "reuse_always":
		reuse = true
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	if reuse {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
			return nil, err
		}
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Port: int(addr.Port()), Addr: addr.Addr().As4()}); err != nil {
		return nil, fmt.Errorf("bind %s: %w", addr, err)
	}
	if err := unix.Listen(fd, backlog); err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "listener")
	defer f.Close()
	return net.FileListener(f)
}
