package health_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/health"
	"github.com/slipwayhq/slipway/internal/lab"
)

// startApp runs the lab's test app on h with env, removed when the test ends.
func startApp(t *testing.T, e *engine.Engine, env ...string) string {
	t.Helper()
	ctx := context.Background()
	name := fmt.Sprintf("health-%d", rand.Uint32())
	_, err := e.Create(ctx, engine.ContainerSpec{Name: name, Image: lab.TestAppImage + ":v1", Env: env})
	require.NoError(t, err)
	t.Cleanup(func() { e.Remove(context.Background(), name, true) })
	require.NoError(t, e.Start(ctx, name))
	return name
}

func TestGatesAgainstLabContainers(t *testing.T) {
	h := lab.Require(t, 1).Hosts[0]
	e := h.Engine(t)
	host := health.Host{Name: h.Addr, Inspector: e, Dialer: h.Dial(t), Execer: e}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	t.Run("passes once the app has finished booting", func(t *testing.T) {
		name := startApp(t, e, "BOOT_DELAY=1500ms")
		gate := health.HTTP{Path: "/up", Interval: 200 * time.Millisecond, Deadline: 15 * time.Second}
		res, err := health.Wait(ctx, gate, health.Container(host, name, lab.TestAppPort))
		require.NoError(t, err, res.String())
		assert.True(t, res.Passed())
		assert.Greater(t, res.Attempts, 1, "the first tries met an app still booting")
		assert.GreaterOrEqual(t, res.TimeToHealthy, 1500*time.Millisecond, "not healthy before the boot delay")
	})

	t.Run("fails at its deadline with the app's own log lines", func(t *testing.T) {
		name := startApp(t, e, "UP_FAIL=1")
		gate := health.HTTP{Path: "/up", Interval: 200 * time.Millisecond, Deadline: 2 * time.Second}
		res, err := health.Wait(ctx, gate, health.Container(host, name, lab.TestAppPort))
		require.ErrorIs(t, err, health.ErrDeadline)
		report := (&health.GateError{Result: res, Diagnostics: health.Diagnose(ctx, e, e, name)}).Error()
		assert.Contains(t, report, "503")
		assert.Contains(t, report, "/up failing: UP_FAIL is on", "the container's log lines")
		assert.Contains(t, report, "running", "the container's state")
	})

	t.Run("a command gate runs inside the container", func(t *testing.T) {
		name := startApp(t, e)
		res, err := health.Wait(ctx, health.Command{Cmd: []string{"/testapp", "version"}}, health.Container(host, name, 0))
		require.NoError(t, err, res.String())
		_, err = health.Wait(ctx, health.Command{Cmd: []string{"/testapp", "fail"}, Deadline: time.Second, Interval: 200 * time.Millisecond},
			health.Container(host, name, 0))
		require.Error(t, err)
	})

	t.Run("a TCP gate connects through the host", func(t *testing.T) {
		name := startApp(t, e)
		res, err := health.Wait(ctx, health.TCP{Interval: 100 * time.Millisecond}, health.Container(host, name, lab.TestAppPort))
		require.NoError(t, err, res.String())
	})

	t.Run("a Docker gate refuses an image without a HEALTHCHECK", func(t *testing.T) {
		name := startApp(t, e)
		_, err := health.Wait(ctx, health.Docker{}, health.Container(host, name, 0))
		require.ErrorIs(t, err, health.ErrNoHealthcheck)
	})

	t.Run("an exited container ends the wait at once", func(t *testing.T) {
		name := startApp(t, e, "EXIT_AFTER=200ms")
		time.Sleep(500 * time.Millisecond)
		start := time.Now()
		_, err := health.Wait(ctx, health.HTTP{Deadline: 20 * time.Second}, health.Container(host, name, lab.TestAppPort))
		require.ErrorIs(t, err, health.ErrContainerStopped)
		assert.Less(t, time.Since(start), 10*time.Second, "did not wait for the deadline")
	})
}
