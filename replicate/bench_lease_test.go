package replicate_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/lab"
	"github.com/slipwayhq/slipway/replicate"
	"github.com/stretchr/testify/require"
)

// BenchmarkLeaseHandoff measures, side by side in one run on the lab's S3
// server, what the lease adds to a replicator's start and stop: Start,
// one Sync and Close of a guarded replicator (take the lease, prove the
// conditional writes, release) against the same of an Unguarded one. The
// difference is the handoff's cost once the old replicator released.
func BenchmarkLeaseHandoff(b *testing.B) {
	s3 := lab.RequireS3(b)
	b.Setenv(replicate.DefaultAccessKeyIDVar, s3.AccessKeyID)
	b.Setenv(replicate.DefaultSecretAccessKeyVar, s3.SecretAccessKey)
	ctx := context.Background()
	dir := b.TempDir()
	guarded := replicate.Replica{DB: filepath.Join(dir, "app.db"), S3: &replicate.S3{Bucket: s3.Bucket(b, "bench-lease"), Endpoint: s3.Endpoint}}
	unguarded := guarded
	unguarded.Unguarded = true
	s := *guarded.S3
	s.Path = "unguarded.db"
	unguarded.S3 = &s
	db := openApp(guarded.DB)
	defer db.Close()
	_, err := db.Exec("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)")
	require.NoError(b, err)

	cycle := func(r replicate.Replica) time.Duration {
		_, err := db.Exec("INSERT INTO items (name) VALUES ('x')")
		require.NoError(b, err)
		t0 := time.Now()
		rep, err := replicate.StartWith(ctx, r, replicate.StartOptions{LeaseWait: -1, Logger: quiet()})
		require.NoError(b, err)
		require.NoError(b, rep.Sync(ctx))
		require.NoError(b, rep.Close(ctx))
		return time.Since(t0)
	}
	var withLease, without time.Duration
	b.ResetTimer()
	for range b.N {
		withLease += cycle(guarded)
		without += cycle(unguarded)
	}
	n := time.Duration(b.N)
	b.ReportMetric((withLease/n).Seconds()*1000, "guarded-ms")
	b.ReportMetric((without/n).Seconds()*1000, "unguarded-ms")
	b.ReportMetric(withLease.Seconds()/without.Seconds(), "guarded/unguarded")
	b.Logf("start+sync+close: guarded %s, unguarded %s: the lease adds %s (%.2fx)",
		(withLease / n).Round(time.Millisecond), (without / n).Round(time.Millisecond), ((withLease - without) / n).Round(time.Millisecond), withLease.Seconds()/without.Seconds())
}
