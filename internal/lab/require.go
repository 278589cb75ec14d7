package lab

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/deploy/ssh"
)

var (
	requireMu sync.Mutex
	ready     *Lab
)

// Require returns a lab of at least n hosts, bringing it up when it is not
// running (as root). When the lab cannot be had, the test fails if the CI
// environment variable is set — a missing lab part must fail a CI run —
// and is skipped with a one-line reason otherwise.
func Require(t testing.TB, n int) *Lab {
	t.Helper()
	requireMu.Lock()
	defer requireMu.Unlock()
	if ready != nil && len(ready.Hosts) >= n {
		return ready
	}
	l, err := Open(Options{})
	if err != nil || len(l.Hosts) < n {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		l, err = Up(ctx, Options{Hosts: max(n, DefaultHosts), Log: testLog{t}})
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("lab: %v", err)
		}
		t.Skipf("lab unavailable (set CI to make this a failure): %v", err)
	}
	ready = l
	return l
}

type testLog struct{ t testing.TB }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Logf("%s", p)
	return len(p), nil
}

// Connect dials the host over SSH and opens its engine through that
// connection, as the SDK does for a real server.
func (h Host) Connect(ctx context.Context) (*ssh.Client, *engine.Engine, error) {
	c, err := ssh.Dial(ctx, h.SSHConfig())
	if err != nil {
		return nil, nil, err
	}
	e, err := EngineOver(ctx, c, h.DockerSocket)
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	return c, e, nil
}

// EngineOver opens the engine at socket on the host behind c.
func EngineOver(ctx context.Context, c *ssh.Client, socket string) (*engine.Engine, error) {
	return engine.New(ctx, func(ctx context.Context) (net.Conn, error) {
		return c.DialContext(ctx, "unix", socket)
	}, engine.Options{Host: c.Host(), Socket: socket})
}

// Dial connects to the host over SSH; the connection is closed when the
// test ends.
func (h Host) Dial(t testing.TB) *ssh.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := ssh.Dial(ctx, h.SSHConfig())
	if err != nil {
		t.Fatalf("lab: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Engine connects to the host's engine over SSH; both are closed when the
// test ends.
func (h Host) Engine(t testing.TB) *engine.Engine {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, e, err := h.Connect(ctx)
	if err != nil {
		t.Fatalf("lab: %v", err)
	}
	t.Cleanup(func() {
		e.Close()
		c.Close()
	})
	return e
}

// String names the host for test output.
func (h Host) String() string { return fmt.Sprintf("%s (%s)", h.Name, h.Addr) }

// CleanupService removes, when the test ends, everything a deploy of
// service left on the hosts: its containers (by Slipway's
// slipway.service label), its kamal-proxy routes, its lock and audit log.
func CleanupService(t testing.TB, hosts []Host, service string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, h := range hosts {
			c, e, err := h.Connect(ctx)
			if err != nil {
				continue
			}
			cs, _ := e.List(ctx, engine.ListOptions{All: true, Labels: map[string]string{"slipway.service": service}})
			for _, ctr := range cs {
				e.Remove(ctx, ctr.ID, true)
			}
			if routes, err := e.Exec(ctx, "kamal-proxy", []string{"kamal-proxy", "list"}, engine.ExecOptions{}); err == nil {
				for _, line := range strings.Split(string(routes.Stdout), "\n") {
					if i := strings.Index(line, service+"-"); i >= 0 {
						name := strings.Fields(line[i:])[0]
						name = strings.TrimSuffix(name, "\x1b[0m")
						e.Exec(ctx, "kamal-proxy", []string{"kamal-proxy", "remove", name}, engine.ExecOptions{})
					}
				}
			}
			c.Run(ctx, "rm -rf .slipway/locks/"+service+"-lock .slipway/audit/"+service+"-audit.log", nil)
			e.Close()
			c.Close()
		}
	})
}
