package health_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/health"
)

func TestContainerTarget(t *testing.T) {
	t.Run("reaches the container's address through the host's dialer", func(t *testing.T) {
		defer goleak.VerifyNone(t)
		host := make(chan string, 1)
		srv := app(t, func(w http.ResponseWriter, r *http.Request) { host <- r.Host })
		asked := make(chan string, 1)
		h := health.Host{
			Name:      "203.0.113.10",
			Inspector: &fakeEngine{InspectFunc: running("172.18.0.5")},
			Dialer:    redirectTo(t, srv.Listener.Addr().String(), asked),
		}
		res, err := health.Wait(context.Background(), fast(health.HTTP{}), health.Container(h, "app-web-v2", 3000))
		require.NoError(t, err)
		assert.Equal(t, "172.18.0.5:3000", <-asked)
		assert.Equal(t, "172.18.0.5:3000", <-host)
		assert.Equal(t, "container app-web-v2:3000 on 203.0.113.10", res.Target)
		srv.Close()
	})

	t.Run("dials the address on the host's network", func(t *testing.T) {
		srv := app(t, func(w http.ResponseWriter, r *http.Request) {})
		asked := make(chan string, 1)
		h := health.Host{
			Network: "kamal",
			Inspector: &fakeEngine{InspectFunc: func(context.Context, string) (engine.Container, error) {
				return engine.Container{State: engine.StateRunning, IPs: map[string]string{"bridge": "172.17.0.2", "kamal": "172.18.0.9"}}, nil
			}},
			Dialer: redirectTo(t, srv.Listener.Addr().String(), asked),
		}
		_, err := health.Wait(context.Background(), health.TCP{}, health.Container(h, "app-web-v2", 80))
		require.NoError(t, err)
		assert.Equal(t, "172.18.0.9:80", <-asked)
	})

	t.Run("connects to the gate's own port when it has one", func(t *testing.T) {
		srv := app(t, func(w http.ResponseWriter, r *http.Request) {})
		asked := make(chan string, 1)
		h := health.Host{Inspector: &fakeEngine{InspectFunc: running("172.18.0.5")}, Dialer: redirectTo(t, srv.Listener.Addr().String(), asked)}
		for _, g := range []health.Gate{health.HTTP{Port: 9090, Path: "/healthz"}, health.TCP{Port: 9090}} {
			_, err := health.Wait(context.Background(), g, health.Container(h, "app-jobs-v2", 0))
			require.NoError(t, err, g)
			assert.Equal(t, "172.18.0.5:9090", <-asked, g)
		}
	})

	t.Run("keeps trying while the container restarts", func(t *testing.T) {
		srv := app(t, func(w http.ResponseWriter, r *http.Request) {})
		var n atomic.Int32
		h := health.Host{
			Inspector: &fakeEngine{InspectFunc: func(_ context.Context, name string) (engine.Container, error) {
				if n.Add(1) <= 2 {
					return engine.Container{State: engine.StateRestarting}, nil
				}
				return running("172.18.0.5")(context.Background(), name)
			}},
			Dialer: redirectTo(t, srv.Listener.Addr().String(), nil),
		}
		res, err := health.Wait(context.Background(), fast(health.HTTP{}), health.Container(h, "app-web-v2", 3000))
		require.NoError(t, err)
		assert.Equal(t, 3, res.Attempts)
		assert.EqualError(t, res.Last[0].Err, "container app-web-v2 is restarting")
	})

	t.Run("gives up at once when the container has exited", func(t *testing.T) {
		h := health.Host{
			Inspector: &fakeEngine{InspectFunc: func(context.Context, string) (engine.Container, error) {
				return engine.Container{State: engine.StateExited, ExitCode: 137, OOMKilled: true}, nil
			}},
			Dialer: &fakeDialer{DialFunc: func(context.Context, string, string) (net.Conn, error) {
				t.Error("dialled a stopped container")
				return nil, errors.New("no")
			}},
		}
		start := time.Now()
		res, err := health.Wait(context.Background(), health.HTTP{}, health.Container(h, "app-web-v2", 3000))
		assert.Less(t, time.Since(start), time.Second)
		assert.ErrorIs(t, err, health.ErrContainerStopped)
		assert.Equal(t, health.OutcomeAborted, res.Outcome)
		assert.Equal(t, 1, res.Attempts)
		assert.EqualError(t, res.Last[0].Err, "container stopped: container app-web-v2 exited with code 137 (OOM-killed)")
	})

	t.Run("gives up at once when the container is gone", func(t *testing.T) {
		h := health.Host{Inspector: &fakeEngine{InspectFunc: func(context.Context, string) (engine.Container, error) {
			return engine.Container{}, fmt.Errorf("inspect container app-web-v2 on host: %w", engine.ErrNotFound)
		}}, Dialer: &fakeDialer{}}
		res, err := health.Wait(context.Background(), health.TCP{}, health.Container(h, "app-web-v2", 3000))
		assert.ErrorIs(t, err, health.ErrContainerStopped)
		assert.ErrorIs(t, err, engine.ErrNotFound)
		assert.Equal(t, 1, res.Attempts)
	})

	t.Run("keeps trying when the engine cannot be reached", func(t *testing.T) {
		h := health.Host{Inspector: &fakeEngine{InspectFunc: func(context.Context, string) (engine.Container, error) {
			return engine.Container{}, errors.New("ssh: connection lost")
		}}, Dialer: &fakeDialer{}}
		res, err := health.Wait(context.Background(), health.TCP{Interval: 10 * time.Millisecond, Deadline: 50 * time.Millisecond}, health.Container(h, "app-web-v2", 3000))
		assert.ErrorIs(t, err, health.ErrDeadline)
		assert.Greater(t, res.Attempts, 1)
		assert.EqualError(t, res.Last[0].Err, "inspect container app-web-v2: ssh: connection lost")
	})

	t.Run("cuts a try short through a connection without deadlines", func(t *testing.T) {
		defer goleak.VerifyNone(t)
		// Like an SSH channel: accepts the request, never answers, ignores deadlines.
		h := health.Host{
			Inspector: &fakeEngine{InspectFunc: running("172.18.0.5")},
			Dialer: &fakeDialer{DialFunc: func(context.Context, string, string) (net.Conn, error) {
				ours, theirs := net.Pipe()
				go func() {
					buf := make([]byte, 4096)
					for {
						if _, err := theirs.Read(buf); err != nil {
							theirs.Close()
							return
						}
					}
				}()
				return noDeadlines{ours}, nil
			}},
		}
		res, err := health.Wait(context.Background(), fast(health.HTTP{Timeout: 30 * time.Millisecond, Deadline: 100 * time.Millisecond}), health.Container(h, "app-web-v2", 3000))
		assert.ErrorIs(t, err, health.ErrDeadline)
		assert.EqualError(t, res.Last[0].Err, "no answer within 30ms")
	})

	t.Run("needs what each gate uses", func(t *testing.T) {
		eng := &fakeEngine{InspectFunc: running("172.18.0.5")}
		for name, tc := range map[string]struct {
			gate   health.Gate
			target health.Target
			want   string
		}{
			"http without a dialer":    {health.HTTP{}, health.Container(health.Host{Inspector: eng}, "app", 3000), "needs a Dialer"},
			"tcp without a port":       {health.TCP{}, health.Container(health.Host{Inspector: eng, Dialer: &fakeDialer{}}, "app", 0), "needs a port"},
			"docker without inspector": {health.Docker{}, health.Container(health.Host{}, "app", 0), "needs an Inspector"},
			"command without execer":   {health.Command{Cmd: []string{"/check"}}, health.Container(health.Host{Inspector: eng}, "app", 0), "needs an Execer"},
		} {
			t.Run(name, func(t *testing.T) {
				res, err := health.Wait(context.Background(), tc.gate, tc.target)
				assert.ErrorIs(t, err, health.ErrUnsupportedTarget)
				assert.ErrorContains(t, err, tc.want)
				assert.Equal(t, 1, res.Attempts)
			})
		}
	})

	t.Run("refuses a target without a name or with a bad port", func(t *testing.T) {
		_, err := health.Wait(context.Background(), health.TCP{}, health.Container(health.Host{}, "", 3000))
		assert.EqualError(t, err, "container target: no container name")
		_, err = health.Wait(context.Background(), health.TCP{}, health.Container(health.Host{}, "app", 70000))
		assert.EqualError(t, err, "container target app: port 70000 is out of range")
	})
}

// noDeadlines is a connection whose deadlines do nothing, as an SSH channel's.
type noDeadlines struct{ net.Conn }

func (noDeadlines) SetDeadline(time.Time) error      { return errors.New("deadline not supported") }
func (noDeadlines) SetReadDeadline(time.Time) error  { return errors.New("deadline not supported") }
func (noDeadlines) SetWriteDeadline(time.Time) error { return errors.New("deadline not supported") }

func TestCommandGate(t *testing.T) {
	t.Run("passes when the command exits 0", func(t *testing.T) {
		var calls atomic.Int32
		var gotName, gotUser string
		var gotCmd []string
		eng := &fakeEngine{
			InspectFunc: running("172.18.0.5"),
			ExecFunc: func(_ context.Context, name string, cmd []string, opts engine.ExecOptions) (engine.ExecResult, error) {
				gotName, gotCmd, gotUser = name, cmd, opts.User
				if calls.Add(1) < 3 {
					return engine.ExecResult{ExitCode: 1, Stdout: []byte("not yet: "), Stderr: []byte("migrations pending")}, nil
				}
				return engine.ExecResult{Stdout: []byte("ready")}, nil
			},
		}
		g := health.Command{Cmd: []string{"/app", "ready", "--token=secret"}, User: "app", Interval: 10 * time.Millisecond}
		res, err := health.Wait(context.Background(), g, health.Container(health.Host{Inspector: eng, Execer: eng}, "app-web-v2", 0))
		require.NoError(t, err)
		assert.Equal(t, 3, res.Attempts)
		assert.Equal(t, "app-web-v2", gotName)
		assert.Equal(t, []string{"/app", "ready", "--token=secret"}, gotCmd)
		assert.Equal(t, "app", gotUser)

		first := res.Last[0]
		assert.Equal(t, "exit 1", first.Status)
		assert.Equal(t, 1, first.Code)
		assert.Equal(t, "not yet: migrations pending", first.Body)
		assert.EqualError(t, first.Err, "/app exited with code 1")
		assert.Equal(t, "exit 0", res.Last[2].Status)
		assert.NotContains(t, res.String()+res.Gate, "secret")
	})

	t.Run("keeps trying when exec fails", func(t *testing.T) {
		eng := &fakeEngine{
			InspectFunc: running("172.18.0.5"),
			ExecFunc: func(context.Context, string, []string, engine.ExecOptions) (engine.ExecResult, error) {
				return engine.ExecResult{}, errors.New("exec /app in container app-web-v2: engine hiccup")
			},
		}
		g := health.Command{Cmd: []string{"/app"}, Interval: 10 * time.Millisecond, Deadline: 50 * time.Millisecond}
		res, err := health.Wait(context.Background(), g, health.Container(health.Host{Inspector: eng, Execer: eng}, "app-web-v2", 0))
		assert.ErrorIs(t, err, health.ErrDeadline)
		assert.Greater(t, res.Attempts, 1)
		assert.EqualError(t, res.Last[0].Err, "exec /app in container app-web-v2: engine hiccup")
	})
}

func TestDockerGate(t *testing.T) {
	withHealth := func(states ...engine.Health) *fakeEngine {
		var n atomic.Int32
		return &fakeEngine{InspectFunc: func(context.Context, string) (engine.Container, error) {
			i := min(int(n.Add(1))-1, len(states)-1)
			return engine.Container{State: engine.StateRunning, Health: states[i]}, nil
		}}
	}
	fastDocker := health.Docker{Interval: 10 * time.Millisecond, Deadline: 200 * time.Millisecond}

	t.Run("passes once the engine reports healthy", func(t *testing.T) {
		eng := withHealth(engine.HealthStarting, engine.HealthStarting, engine.HealthHealthy)
		res, err := health.Wait(context.Background(), fastDocker, health.Container(health.Host{Inspector: eng}, "app-web-v2", 0))
		require.NoError(t, err)
		assert.Equal(t, 3, res.Attempts)
		assert.Equal(t, "health starting", res.Last[0].Status)
		assert.EqualError(t, res.Last[0].Err, "container app-web-v2 is starting")
		assert.Equal(t, "health healthy", res.Last[2].Status)
	})

	t.Run("keeps trying while unhealthy, until its deadline", func(t *testing.T) {
		eng := withHealth(engine.HealthUnhealthy)
		res, err := health.Wait(context.Background(), fastDocker, health.Container(health.Host{Inspector: eng}, "app-web-v2", 0))
		assert.ErrorIs(t, err, health.ErrDeadline)
		assert.Greater(t, res.Attempts, 2)
	})

	t.Run("gives up at once without a HEALTHCHECK", func(t *testing.T) {
		eng := withHealth(engine.HealthNone)
		res, err := health.Wait(context.Background(), fastDocker, health.Container(health.Host{Inspector: eng}, "app-web-v2", 0))
		assert.ErrorIs(t, err, health.ErrNoHealthcheck)
		assert.Equal(t, health.OutcomeAborted, res.Outcome)
		assert.Equal(t, 1, res.Attempts)
	})
}

func TestDiagnose(t *testing.T) {
	t.Run("gathers the state and the last 50 log lines", func(t *testing.T) {
		var askedFor int
		eng := &fakeEngine{
			InspectFunc: func(_ context.Context, name string) (engine.Container, error) {
				return engine.Container{Name: name, State: engine.StateExited, ExitCode: 1, RestartCount: 2}, nil
			},
			TailFunc: func(_ context.Context, _ string, n int) ([]string, error) {
				askedFor = n
				lines := make([]string, 80) // more than asked: Diagnose still keeps the last 50
				for i := range lines {
					lines[i] = fmt.Sprintf("line %d", i+1)
				}
				return lines, nil
			},
		}
		d := health.Diagnose(context.Background(), eng, eng, "app-web-v2")
		assert.Equal(t, health.DiagnosticLogLines, askedFor)
		assert.Equal(t, "app-web-v2", d.Container)
		assert.Equal(t, engine.StateExited, d.State.State)
		assert.NoError(t, d.InspectErr)
		assert.NoError(t, d.LogsErr)
		require.Len(t, d.Logs, 50)
		assert.Equal(t, "line 31", d.Logs[0])
		assert.Equal(t, "line 80", d.Logs[49])
	})

	t.Run("records what it could not read", func(t *testing.T) {
		eng := &fakeEngine{
			InspectFunc: func(context.Context, string) (engine.Container, error) {
				return engine.Container{}, errors.New("engine down")
			},
			TailFunc: func(context.Context, string, int) ([]string, error) { return nil, errors.New("logs gone") },
		}
		d := health.Diagnose(context.Background(), eng, eng, "app")
		assert.EqualError(t, d.InspectErr, "engine down")
		assert.EqualError(t, d.LogsErr, "logs gone")

		d = health.Diagnose(context.Background(), nil, nil, "app")
		assert.Error(t, d.InspectErr)
		assert.Error(t, d.LogsErr)
	})

	t.Run("is bounded in time", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		eng := &fakeEngine{
			InspectFunc: func(ctx context.Context, _ string) (engine.Container, error) {
				<-ctx.Done()
				return engine.Container{}, ctx.Err()
			},
			TailFunc: func(ctx context.Context, _ string, _ int) ([]string, error) { <-ctx.Done(); return nil, ctx.Err() },
		}
		d := health.Diagnose(ctx, eng, eng, "app")
		assert.ErrorIs(t, d.InspectErr, context.DeadlineExceeded)
	})
}
