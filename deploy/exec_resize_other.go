//go:build !unix

package deploy

import "os"

// notifyResize delivers nothing where there is no SIGWINCH: the command's
// terminal keeps the size it started with.
func notifyResize() (<-chan os.Signal, func()) {
	return nil, func() {}
}
