package ssh

import (
	"context"
	"fmt"
	"net"
)

// Listen opens a listening socket on the host, over this SSH connection
// (a remote port forward, like OpenSSH's -R): connections made on the host
// to the listener's address arrive here through Accept. addr is
// "host:port" on the host; use "127.0.0.1:0" for a free port on its
// loopback, which nothing outside the host can reach. The listener's
// Addr reports the port the host chose. Closing the listener, or the
// client, stops the forward.
//
// It needs sshd's AllowTcpForwarding (on by default).
func (c *Client) Listen(ctx context.Context, addr string) (net.Listener, error) {
	type result struct {
		l   net.Listener
		err error
	}
	done := make(chan result, 1)
	go func() {
		l, err := c.conn.Listen("tcp", addr)
		done <- result{l, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return nil, fmt.Errorf("listen on %s of %s: %w: check that sshd allows TCP forwarding (AllowTcpForwarding)", addr, c.Host(), r.err)
		}
		return r.l, nil
	case <-ctx.Done():
		go func() {
			if r := <-done; r.l != nil {
				r.l.Close()
			}
		}()
		return nil, fmt.Errorf("listen on %s of %s: %w", addr, c.Host(), ctx.Err())
	}
}
