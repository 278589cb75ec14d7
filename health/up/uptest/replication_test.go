package uptest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/health/up"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// replicator is a fake up.Replicator of fixed answers.
type replicator struct {
	lag time.Duration
	err error
}

func (r replicator) Lag() (time.Duration, error) { return r.lag, r.err }

var _ up.Replicator = replicator{}

func TestReplicationCheck(t *testing.T) {
	ctx := context.Background()
	t.Run("passes while the replica keeps up", func(t *testing.T) {
		c := up.Replication(replicator{lag: 2 * time.Second}, 0)
		assert.Equal(t, "replication", c.Name)
		require.NoError(t, c.Run(ctx))
	})
	t.Run("fails when changes wait longer than the limit", func(t *testing.T) {
		err := up.Replication(replicator{lag: 45 * time.Second}, 0).Run(ctx)
		require.ErrorContains(t, err, "changes have waited 45s to reach the replica (max 30s)")
		require.NoError(t, up.Replication(replicator{lag: 45 * time.Second}, time.Minute).Run(ctx))
	})
	t.Run("fails with the replicator's own error", func(t *testing.T) {
		lost := errors.New("replica lease lost")
		require.ErrorIs(t, up.Replication(replicator{err: lost}, 0).Run(ctx), lost)
	})
}
