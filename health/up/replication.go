package up

import (
	"context"
	"fmt"
	"time"
)

// DefaultMaxReplicationLag is how long committed changes may wait to
// reach the replica before a Replication check fails: many sync
// intervals of Litestream's default one second.
const DefaultMaxReplicationLag = 30 * time.Second

// Replicator is what a Replication check reads: how long committed
// changes have waited to reach the replica, and why replication fails
// when it does. *replicate.Replication satisfies it, so an app links no
// replication code into this package.
type Replicator interface {
	// Lag returns the wait of the oldest change not yet in the replica
	// (0 when it holds every one), and a non-nil error when replication
	// fails: a lost lease, a stop, a sync error.
	Lag() (time.Duration, error)
}

// Replication returns a check named "replication" that fails when rep
// reports a failure or when changes have waited longer than maxLag (0
// means DefaultMaxReplicationLag) to reach the replica, so a replica
// that falls behind takes the app out of rotation and shows in /up
// instead of going unnoticed until the next verify.
func Replication(rep Replicator, maxLag time.Duration) Check {
	if maxLag <= 0 {
		maxLag = DefaultMaxReplicationLag
	}
	return Check{Name: "replication", Run: func(context.Context) error {
		lag, err := rep.Lag()
		if err != nil {
			return err
		}
		if lag > maxLag {
			return fmt.Errorf("changes have waited %s to reach the replica (max %s)", lag.Round(time.Millisecond), maxLag)
		}
		return nil
	}}
}
