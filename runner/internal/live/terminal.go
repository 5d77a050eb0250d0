package live

import "golang.org/x/sys/unix"

// IsTerminal reports whether fd is a terminal: whether it has terminal
// attributes (TCGETS), as isatty(3) decides.
func IsTerminal(fd int) bool {
	_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	return err == nil
}

// Width returns the columns of the terminal fd, or 0 when it cannot say.
func Width(fd int) int {
	ws, err := unix.IoctlGetWinsize(fd, unix.TIOCGWINSZ)
	if err != nil {
		return 0
	}
	return int(ws.Col)
}
