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

	t.Run("a forced release frees a lock left behind", func(t *testing.T) {
		require.NoError(t, holder.Lock(ctx, "v9"))
		other := connect(t, a, &syncBuffer{})
		require.NoError(t, other.Unlock(ctx))
		info, err := other.LockStatus(ctx)
		require.NoError(t, err)
		assert.Nil(t, info)
	})
}
