package ssh

import (
	"context"
	"fmt"
	"io"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	gossh "golang.org/x/crypto/ssh"
)

func TestExplain(t *testing.T) {
	ctx := context.Background()
	host := Config{Host: "10.0.0.5", Jump: &Config{Host: "bastion.example.com"}}

	t.Run("a connection closed before the handshake points at MaxStartups", func(t *testing.T) {
		for _, cause := range []error{io.EOF, syscall.ECONNRESET} {
			err := explainHandshake(ctx, *host.Jump, fmt.Errorf("ssh: handshake failed: %w", cause))
			assert.ErrorIs(t, err, cause)
			assert.ErrorContains(t, err, "closed the connection before logging in")
			assert.ErrorContains(t, err, "MaxStartups")
		}
	})
	t.Run("a refused forward names the bastion and what to check", func(t *testing.T) {
		refused := &gossh.OpenChannelError{Reason: gossh.Prohibited, Message: "administratively prohibited"}
		err := explainForward(ctx, host, fmt.Errorf("open tcp 10.0.0.5:22 on root@bastion.example.com:22: %w", refused))
		assert.ErrorAs(t, err, new(*gossh.OpenChannelError))
		assert.ErrorContains(t, err, "the bastion root@bastion.example.com:22 refused to forward to port 22")
		assert.ErrorContains(t, err, "AllowTcpForwarding")
	})
	t.Run("a host the bastion cannot reach says so", func(t *testing.T) {
		failed := &gossh.OpenChannelError{Reason: gossh.ConnectionFailed, Message: "Connection refused"}
		err := explainForward(ctx, host, failed)
		assert.ErrorContains(t, err, "the bastion root@bastion.example.com:22 could not reach it")
	})
	t.Run("other errors are explained as a dial's", func(t *testing.T) {
		err := explainForward(ctx, host, syscall.ECONNREFUSED)
		assert.ErrorContains(t, err, "nothing listens on port 22")
	})
}
