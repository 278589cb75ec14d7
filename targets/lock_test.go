package targets_test

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/magefile/mage/mg"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/targets"
)

func TestLockTargets(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	app := labApp(t)
	var out syncWriter
	as := func(performer string) {
		targets.Use(targets.Config{App: app, Options: deploy.Options{Output: &out, Performer: performer}})
	}
	t.Cleanup(func() { targets.Use(targets.Config{}) })

	as("alice")
	require.NoError(t, targets.Lock{}.Acquire(ctx, ptr("hotfix"), nil))
	out.Reset()
	require.NoError(t, targets.Lock{}.Status(ctx, nil))
	assert.Regexp(t, `^locked by alice since \S+ \(\d+s ago\): "hotfix"\n$`, out.String(), "names the holder and the age")

	as("bob")
	err := targets.Lock{}.Release(ctx, nil, nil)
	assert.Equal(t, targets.ExitLocked, mg.ExitStatus(err), "bob cannot release alice's lock: %v", err)
	assert.Contains(t, err.Error(), "lock:release -force")

	out.Reset()
	require.NoError(t, targets.Lock{}.Release(ctx, ptr(true), nil))
	assert.Contains(t, out.String(), "broke the lock held by alice since")
	out.Reset()
	require.NoError(t, targets.Lock{}.Status(ctx, nil))
	assert.Equal(t, "unlocked\n", out.String())
}

// syncWriter is a bytes.Buffer safe for the session's concurrent lines.
type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

func (w *syncWriter) Reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b.Reset()
}
