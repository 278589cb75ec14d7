package replicate_test

import (
	"testing"
	"time"

	"github.com/slipwayhq/slipway/replicate"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCompareLive(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	fresh := replicate.Freshness{Replica: "s3://b/app.db", Newest: replicate.Position{TXID: 52, Time: t0}}
	cases := []struct {
		name string
		live replicate.Live
		err  string // "" means it passes
	}{
		{"passes when the host holds nothing newer", replicate.Live{TXID: 52, Captured: t0, Written: t0.Add(2 * time.Second)}, ""},
		{"passes for an idle app, however old the replica", replicate.Live{TXID: 52, Captured: t0, Written: t0.Add(-time.Hour)}, ""},
		{"fails when the replicator captured txids the replica lacks",
			replicate.Live{TXID: 60, Captured: t0.Add(5 * time.Minute), Written: t0.Add(5 * time.Minute)},
			"the host captured txids 53..60 that the replica lacks; the replica's newest (txid 52) is 5m0s older than the host's newest write (max 1m0s)"},
		{"fails when writes reach no replicator",
			replicate.Live{TXID: 52, Captured: t0, Written: t0.Add(10 * time.Minute)},
			"the database on the host was written at 2026-12-01T12:10:00Z, 10m0s after the replica's newest transaction (txid 52 at 2026-12-01T12:00:00Z, max 1m0s), and no replicator captured those writes (host txid 52)"},
		{"fails when the replicator's local state restarted behind the replica",
			replicate.Live{TXID: 3, Captured: t0.Add(time.Second), Written: t0.Add(time.Second)},
			"the host's replicator is at txid 3 but the replica at txid 52"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g, err := replicate.CompareLive(fresh, c.live, 0)
			assert.Equal(t, uint64(52), g.ReplicaTXID)
			assert.Equal(t, c.live.TXID, g.LiveTXID)
			if c.err == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, replicate.ErrBehind)
			assert.ErrorContains(t, err, c.err)
		})
	}
}
