package modelkit

import (
	"context"
	"os/signal"
	"syscall"
)

// SignalContext is cancelled on SIGTERM or SIGINT, the contract's request
// to exit promptly.
func SignalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
}
