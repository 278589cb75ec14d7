//go:build unix

package deploy

import (
	"os"
	"os/signal"
	"syscall"
)

// notifyResize delivers the terminal's SIGWINCH, until stop.
func notifyResize() (<-chan os.Signal, func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGWINCH)
	return ch, func() { signal.Stop(ch) }
}
