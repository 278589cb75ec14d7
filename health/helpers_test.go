package health_test

import (
	"context"
	"net"
	"testing"

	"go.uber.org/goleak"

	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/deploy/ssh"
	"github.com/slipwayhq/slipway/health"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// The real engine client and SSH client are what production hands to a Host.
var (
	_ health.Inspector = (*engine.Engine)(nil)
	_ health.Execer    = (*engine.Engine)(nil)
	_ health.LogTailer = (*engine.Engine)(nil)
	_ health.Dialer    = (*ssh.Client)(nil)
)

// fakeEngine stands in for a host's container engine.
type fakeEngine struct {
	InspectFunc func(ctx context.Context, name string) (engine.Container, error)
	ExecFunc    func(ctx context.Context, name string, cmd []string, opts engine.ExecOptions) (engine.ExecResult, error)
	TailFunc    func(ctx context.Context, name string, n int) ([]string, error)
}

var (
	_ health.Inspector = (*fakeEngine)(nil)
	_ health.Execer    = (*fakeEngine)(nil)
	_ health.LogTailer = (*fakeEngine)(nil)
)

func (f *fakeEngine) Inspect(ctx context.Context, name string) (engine.Container, error) {
	return f.InspectFunc(ctx, name)
}

func (f *fakeEngine) Exec(ctx context.Context, name string, cmd []string, opts engine.ExecOptions) (engine.ExecResult, error) {
	return f.ExecFunc(ctx, name, cmd, opts)
}

func (f *fakeEngine) Tail(ctx context.Context, name string, n int) ([]string, error) {
	return f.TailFunc(ctx, name, n)
}

// fakeDialer stands in for the SSH connection to a host.
type fakeDialer struct {
	DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)
}

var _ health.Dialer = (*fakeDialer)(nil)

func (f *fakeDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return f.DialFunc(ctx, network, addr)
}

// running returns an Inspect func reporting a running container at ip on network "kamal".
func running(ip string) func(context.Context, string) (engine.Container, error) {
	return func(_ context.Context, name string) (engine.Container, error) {
		return engine.Container{Name: name, State: engine.StateRunning, IPs: map[string]string{"kamal": ip}}, nil
	}
}

// redirectTo returns a dialer that records the address asked for and connects to real instead.
func redirectTo(t *testing.T, real string, asked chan<- string) *fakeDialer {
	t.Helper()
	var d net.Dialer
	return &fakeDialer{DialFunc: func(ctx context.Context, network, addr string) (net.Conn, error) {
		select {
		case asked <- addr:
		default:
		}
		return d.DialContext(ctx, network, real)
	}}
}
