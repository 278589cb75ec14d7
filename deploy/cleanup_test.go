package deploy

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy/proxy"
	"github.com/slipwayhq/slipway/health"
)

func TestParseLockStatus(t *testing.T) {
	t.Run("a free lock prints nothing", func(t *testing.T) {
		assert.Nil(t, parseLockStatus(nil))
	})
	t.Run("a held lock names its holder", func(t *testing.T) {
		info := parseLockStatus([]byte("held 1767225600\n" + `{"performer":"ana","time":"2026-01-01T00:00:00Z","version":"v4","id":"ab12"}` + "\n"))
		require.NotNil(t, info)
		assert.Equal(t, LockInfo{Performer: "ana", Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Version: "v4", ID: "ab12"}, *info)
	})
	t.Run("a lock without details is half-written, aged by its file", func(t *testing.T) {
		for _, body := range []string{"", "{", `{"time":"2026-01-01T00:00:00Z"}`} {
			info := parseLockStatus([]byte("held 1767225600\n" + body))
			require.NotNil(t, info, "%q", body)
			assert.True(t, info.Incomplete, "%q", body)
			assert.Equal(t, time.Unix(1767225600, 0).UTC(), info.Time)
			assert.Contains(t, info.String(), "half-written")
		}
	})
}

func TestStepBudget(t *testing.T) {
	s := &Session{opts: Options{CallTimeout: 2 * time.Second}}
	for _, tc := range []struct {
		name string
		step Step
		want time.Duration
	}{
		{"a plain call", Step{Kind: StepStart}, 2 * time.Second},
		{"kamal-proxy's deploy timeout on top", Step{Kind: StepProxyDeploy, Proxy: &proxy.Service{DeployTimeout: 7 * time.Second}}, 9 * time.Second},
		{"its default when unset", Step{Kind: StepProxyDeploy, Proxy: &proxy.Service{}}, DefaultDeployTimeout + 2*time.Second},
		{"a gate's deadline on top", Step{Kind: StepGate, Gate: health.HTTP{Path: "/up", Deadline: 5 * time.Second}}, 7 * time.Second},
		{"the stop timeout of each old container", Step{Kind: StepStopOld, Old: []string{"a", "b"}}, 2*DefaultStopTimeout + 2*time.Second},
		{"no deadline for an image delivery", Step{Kind: StepDeliverImage}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, s.stepBudget(tc.step))
		})
	}
}

func TestCall(t *testing.T) {
	s := &Session{}
	t.Run("a call past its own deadline is a TimeoutError naming host and call", func(t *testing.T) {
		err := s.call(context.Background(), "203.0.113.10", "start web-v2", 20*time.Millisecond, func(ctx context.Context) error {
			<-ctx.Done()
			assert.False(t, interrupted(ctx), "the call's own deadline is no interruption")
			return ctx.Err()
		})
		var timeout *TimeoutError
		require.ErrorAs(t, err, &timeout)
		assert.Equal(t, "203.0.113.10", timeout.Host)
		assert.Equal(t, "start web-v2", timeout.Call)
		assert.ErrorIs(t, err, ErrTimeout)
		assert.Contains(t, err.Error(), "start web-v2 on 203.0.113.10: no answer within 20ms")
	})
	t.Run("a cancelled caller is an interruption, not a timeout", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := s.call(ctx, "h", "start", time.Minute, func(ctx context.Context) error {
			assert.True(t, interrupted(ctx))
			return ctx.Err()
		})
		assert.ErrorIs(t, err, context.Canceled)
		assert.False(t, errors.Is(err, ErrTimeout))
	})
}

func TestCleanupBudget(t *testing.T) {
	s := &Session{opts: Options{CleanupTimeout: 4 * time.Second}}
	ctx, cancel := context.WithCancel(context.Background())
	stop := s.watchCancel(ctx)
	defer stop()
	cancel()
	time.Sleep(10 * time.Millisecond) // AfterFunc runs in its own goroutine
	cctx, done := s.cleanupCtx(ctx, time.Second)
	defer done()
	require.NoError(t, cctx.Err(), "cleanup outlives the cancellation")
	dl, ok := cctx.Deadline()
	require.True(t, ok, "but is bounded")
	assert.WithinDuration(t, time.Unix(0, s.cancelledAt.Load()).Add(3*time.Second), dl, time.Millisecond,
		"CleanupTimeout from the cancellation, less what is reserved for later")
}
