package live

import (
	"io"
	"time"
)

// On a terminal the status line is rewritten in place: a carriage return
// and "erase to end of line" (ECMA-48 EL, CSI K), then the line, with no
// newline, so the next rewrite or a whole line replaces it.
const eraseLine = "\r\x1b[K"

// The status line is redrawn at most every redrawEvery on a terminal: the
// samples come once a second, a little early or late, and a report or
// event between two must not add redraws. In a log or a pipe a plain
// status line is written only in a phase that has lasted plainAfter, and
// at most every plainAfter: a 4-minute ramp of make bench-scale gets a
// line every 10 s, a default run's 4 s windows none.
const (
	redrawEvery = 500 * time.Millisecond
	plainAfter  = 10 * time.Second
)

// Display writes whole lines and the status line to one writer without
// letting them interleave. Not safe for concurrent use: its caller
// serializes.
type Display struct {
	w   io.Writer
	tty bool
	// width is the terminal's width in columns now (0: unknown); read at
	// each redraw, so a resized window is followed.
	width func() int

	shown     string // the status line on the screen (tty), "" when none
	lastDraw  time.Time
	lastPhase string
	lastPlain time.Time
}

// NewDisplay writes to w: a terminal when tty (then width, if not nil,
// gives its columns), else a log or a pipe that gets plain lines only.
func NewDisplay(w io.Writer, tty bool, width func() int) *Display {
	if width == nil {
		width = func() int { return 0 }
	}
	return &Display{w: w, tty: tty, width: width}
}

// Line writes one whole line; on a terminal the status line is cleared
// first and drawn again after it.
func (d *Display) Line(text string) {
	if d.shown == "" {
		io.WriteString(d.w, text+"\n")
		return
	}
	io.WriteString(d.w, eraseLine+text+"\n"+d.shown)
}

// Aside lets write put text on the same screen by another way (stderr):
// the status line is cleared first and drawn again after.
func (d *Display) Aside(write func()) {
	if d.shown == "" {
		write()
		return
	}
	io.WriteString(d.w, eraseLine)
	write()
	io.WriteString(d.w, d.shown)
}

// Status shows s as of now (the time of the record that changed it). A
// state with no phase takes the status line off the screen.
func (d *Display) Status(s State, now time.Time) {
	if s.Phase == "" {
		d.Clear()
		return
	}
	if !d.tty {
		if !measuring(s.Phase) || s.PhaseFor < plainAfter || (!d.lastPlain.IsZero() && now.Sub(d.lastPlain) < plainAfter) {
			return
		}
		d.lastPlain = now
		io.WriteString(d.w, Render(s, 0)+"\n")
		return
	}
	if s.Phase == d.lastPhase && d.shown != "" && now.Sub(d.lastDraw) < redrawEvery {
		return
	}
	line := Render(s, d.columns())
	d.lastDraw, d.lastPhase = now, s.Phase
	io.WriteString(d.w, eraseLine+line)
	d.shown = line
}

// Clear takes the status line off the screen, before others write there
// (the run's summary).
func (d *Display) Clear() {
	if d.shown != "" {
		io.WriteString(d.w, eraseLine)
		d.shown = ""
	}
	d.lastPhase = ""
}

// columns is the width a status line may take: one less than the
// terminal's, since a line that fills the last column wraps on some
// terminals, and a wrapped line is no longer erased by one CR.
func (d *Display) columns() int {
	if w := d.width(); w > 1 {
		return w - 1
	}
	return 0
}
