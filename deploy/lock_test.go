package deploy_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
)

func TestDeployLock(t *testing.T) {
	a, l := labApp(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	holder, err := deploy.Connect(ctx, a, deploy.Options{Output: &syncBuffer{}, Performer: "alice", Message: "hotfix #12"})
	require.NoError(t, err)
	defer holder.Close()

	t.Run("a held lock stops another deploy and names its holder", func(t *testing.T) {
		require.NoError(t, holder.Lock(ctx, "v9"))
		defer holder.Unlock(ctx)
		info, err := holder.LockStatus(ctx)
		require.NoError(t, err)
		require.NotNil(t, info)
		assert.Equal(t, "alice", info.Performer)
		assert.Equal(t, "v9", info.Version)

		_, err = connect(t, a, &syncBuffer{}).Deploy(ctx, deploy.Release{Version: "v1"})
		var locked *deploy.LockedError
		require.ErrorAs(t, err, &locked)
		require.ErrorIs(t, err, deploy.ErrLocked)
		assert.Contains(t, err.Error(), "alice")
		assert.Contains(t, err.Error(), `"hotfix #12"`)
		assert.Contains(t, err.Error(), l.Hosts[0].Addr)
		assertUntouched(t, l.Hosts[0].Engine(t), a)
	})

	t.Run("a deploy waits for the lock when asked to", func(t *testing.T) {
		require.NoError(t, holder.Lock(ctx, "v9"))
		go func() {
			time.Sleep(1500 * time.Millisecond)
			holder.Unlock(context.Background())
		}()
		waiter, err := deploy.Connect(ctx, a, deploy.Options{Output: &syncBuffer{}, Performer: "bob", LockWait: 20 * time.Second})
		require.NoError(t, err)
		defer waiter.Close()
		_, err = waiter.Deploy(ctx, deploy.Release{Version: "v1"})
		require.NoError(t, err)
		info, err := waiter.LockStatus(ctx)
		require.NoError(t, err)
		assert.Nil(t, info, "released after the deploy")
	})

	t.Run("someone else's lock is not released, only broken", func(t *testing.T) {
		require.NoError(t, holder.Lock(ctx, "v9"))
		other := connect(t, a, &syncBuffer{})
		err := other.Unlock(ctx)
		var locked *deploy.LockedError
		require.ErrorAs(t, err, &locked, "tester does not hold alice's lock")
		assert.Contains(t, err.Error(), "alice")
		assert.Contains(t, err.Error(), "lock:release -force")

		broke, err := other.BreakLock(ctx)
		require.NoError(t, err)
		require.NotNil(t, broke)
		assert.Equal(t, "alice", broke.Performer)
		info, err := other.LockStatus(ctx)
		require.NoError(t, err)
		assert.Nil(t, info)
		assert.NoError(t, holder.Unlock(ctx), "a lock already gone is no error")
	})

	t.Run("a half-written lock reads as such and only a forced release frees it", func(t *testing.T) {
		// What an older Slipway interrupted between mkdir and writing the
		// details left behind.
		c := l.Hosts[0].Dial(t)
		_, err := c.Run(ctx, "mkdir -p .slipway/locks/"+a.Service+"-lock", nil)
		require.NoError(t, err)

		info, err := holder.LockStatus(ctx)
		require.NoError(t, err)
		require.NotNil(t, info, "not unlocked")
		assert.True(t, info.Incomplete)
		assert.WithinDuration(t, time.Now(), info.Time, time.Minute, "its age is the directory's")

		err = holder.Lock(ctx, "v9")
		var locked *deploy.LockedError
		require.ErrorAs(t, err, &locked)
		assert.Contains(t, err.Error(), "half-written")
		assert.Contains(t, err.Error(), "lock:release -force")
		require.ErrorAs(t, holder.Unlock(ctx), &locked, "no holder to match")

		broke, err := holder.BreakLock(ctx)
		require.NoError(t, err)
		assert.True(t, broke.Incomplete)
		require.NoError(t, holder.Lock(ctx, "v9"), "free again")
		require.NoError(t, holder.Unlock(ctx))
	})

	t.Run("the lock exists only with its details in it", func(t *testing.T) {
		// The details go to a file of their own and are linked into place:
		// the lock path never exists without them.
		c := l.Hosts[0].Dial(t)
		require.NoError(t, holder.Lock(ctx, "v9"))
		res, err := c.Run(ctx, "cat .slipway/locks/"+a.Service+"-lock; ls -a .slipway/locks", nil)
		require.NoError(t, err)
		assert.Contains(t, string(res.Stdout), `"performer":"alice"`)
		assert.NotContains(t, string(res.Stdout), ".lock.", "no temporary file is left")
		require.NoError(t, holder.Unlock(ctx))
	})

	t.Run("maintenance and live are refused while someone holds the lock", func(t *testing.T) {
		require.NoError(t, holder.Lock(ctx, "recover"))
		defer holder.Unlock(ctx)
		other := connect(t, a, &syncBuffer{})
		err := other.Live(ctx)
		var locked *deploy.LockedError
		require.ErrorAs(t, err, &locked)
		assert.Contains(t, err.Error(), "alice")
		err = other.Maintenance(ctx, "", 0)
		require.ErrorAs(t, err, &locked)
	})
}
