package modelkit

import (
	"fmt"
	"net"
	"net/netip"
	"os"

	"golang.org/x/sys/unix"
)

// ListenFD opens a TCP listening socket for cfg and returns its descriptor.
// It is done by hand rather than with net.Listen because the contract lets
// the runner choose the backlog, which Go's net package does not expose
// (it always asks for net.core.somaxconn).
func ListenFD(cfg Config, nonblock bool) (int, error) {
	ap, err := netip.ParseAddrPort(cfg.Addr)
	if err != nil {
		return -1, fmt.Errorf("listen address %q: %w (want ip:port)", cfg.Addr, err)
	}
	family := unix.AF_INET
	var sa unix.Sockaddr
	if ap.Addr().Is4() {
		sa = &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	} else {
		family = unix.AF_INET6
		sa = &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
	}
	flags := unix.SOCK_STREAM | unix.SOCK_CLOEXEC
	if nonblock {
		flags |= unix.SOCK_NONBLOCK
	}
	fd, err := unix.Socket(family, flags, 0)
	if err != nil {
		return -1, fmt.Errorf("socket: %w", err)
	}
	opts := []struct {
		name string
		opt  int
		on   bool
	}{
		{"SO_REUSEADDR", unix.SO_REUSEADDR, true},
		{"SO_REUSEPORT", unix.SO_REUSEPORT, cfg.ReusePort},
	}
	for _, o := range opts {
		if !o.on {
			continue
		}
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, o.opt, 1); err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("setsockopt %s: %w", o.name, err)
		}
	}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("bind %s: %w", cfg.Addr, err)
	}
	if err := unix.Listen(fd, cfg.Backlog); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("listen %s backlog %d: %w", cfg.Addr, cfg.Backlog, err)
	}
	return fd, nil
}

// Listen is ListenFD wrapped as a net.Listener for models built on Go's net
// package.
func Listen(cfg Config) (net.Listener, error) {
	fd, err := ListenFD(cfg, true)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "listener")
	defer f.Close() // FileListener dups the descriptor
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("wrap listener: %w", err)
	}
	return ln, nil
}
