package health_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/health"
)

func TestRunningGate(t *testing.T) {
	container := func(c engine.Container) health.Target {
		return health.Container(health.Host{Inspector: &fakeEngine{InspectFunc: func(context.Context, string) (engine.Container, error) {
			return c, nil
		}}}, "app-jobs-v2", 0)
	}
	t.Run("passes once the container has kept running for For", func(t *testing.T) {
		res, err := health.Wait(context.Background(), health.Running{For: 30 * time.Millisecond, Interval: 10 * time.Millisecond},
			container(engine.Container{State: engine.StateRunning}))
		require.NoError(t, err)
		assert.Equal(t, 4, res.Attempts, "tries 10ms apart spanning 30ms")
		assert.Equal(t, "running", res.Last[3].Status)
	})
	t.Run("gives up at once when the engine restarted the container", func(t *testing.T) {
		res, err := health.Wait(context.Background(), health.Running{For: time.Minute},
			container(engine.Container{State: engine.StateRunning, RestartCount: 2}))
		assert.ErrorIs(t, err, health.ErrContainerStopped)
		assert.Equal(t, health.OutcomeAborted, res.Outcome)
		assert.Equal(t, 1, res.Attempts)
		assert.EqualError(t, res.Last[0].Err, "container stopped: container app-jobs-v2 restarted 2 times")
	})
	t.Run("gives up at once when the container exited", func(t *testing.T) {
		_, err := health.Wait(context.Background(), health.Running{For: time.Minute},
			container(engine.Container{State: engine.StateExited, ExitCode: 1}))
		assert.ErrorIs(t, err, health.ErrContainerStopped)
	})
}
