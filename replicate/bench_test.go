package replicate_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/benbjohnson/litestream"
	lss3 "github.com/benbjohnson/litestream/s3"
	"github.com/slipwayhq/slipway/internal/lab"
	"github.com/slipwayhq/slipway/replicate"
	"github.com/stretchr/testify/require"
)

// BenchmarkDrillVsRawDownload compares, side by side in one run, a drill's
// restore (RTO) of a large database with a raw download of the same
// replica objects from the same server. SLIPWAY_BENCH_DB_MB sets the
// database size (default 256).
func BenchmarkDrillVsRawDownload(b *testing.B) {
	mb := 256
	if v, err := strconv.Atoi(os.Getenv("SLIPWAY_BENCH_DB_MB")); err == nil && v > 0 {
		mb = v
	}
	s3 := lab.RequireS3(b)
	b.Setenv(replicate.DefaultAccessKeyIDVar, s3.AccessKeyID)
	b.Setenv(replicate.DefaultSecretAccessKeyVar, s3.SecretAccessKey)
	ctx := context.Background()
	dir := b.TempDir()
	r := replicate.Replica{DB: filepath.Join(dir, "big.db"), S3: &replicate.S3{Bucket: s3.Bucket(b, "bench"), Endpoint: s3.Endpoint}}

	start := time.Now()
	db, err := sql.Open("sqlite", "file:"+r.DB+"?_pragma=journal_mode(wal)&_pragma=busy_timeout(5000)")
	require.NoError(b, err)
	db.SetMaxOpenConns(1)
	_, err = db.Exec("CREATE TABLE blobs (id INTEGER PRIMARY KEY, data BLOB)")
	require.NoError(b, err)
	blob := make([]byte, 64<<10) // random, so compression does not shrink the transfer
	for i := 0; i < mb*16; {
		tx, err := db.Begin()
		require.NoError(b, err)
		for j := 0; j < 256 && i < mb*16; j, i = j+1, i+1 {
			rand.Read(blob)
			_, err := tx.Exec("INSERT INTO blobs (data) VALUES (?)", blob)
			require.NoError(b, err)
		}
		require.NoError(b, tx.Commit())
	}
	rep, err := replicate.Start(ctx, r)
	require.NoError(b, err)
	require.NoError(b, rep.Sync(ctx))
	require.NoError(b, rep.Close(ctx))
	db.Close()
	b.Logf("wrote and replicated a %d MiB database in %s", mb, time.Since(start).Round(time.Millisecond))

	client := lss3.NewReplicaClient()
	client.AccessKeyID, client.SecretAccessKey = s3.AccessKeyID, s3.SecretAccessKey
	client.Bucket, client.Path, client.Endpoint, client.ForcePathStyle, client.Region = r.S3.Bucket, "big.db", s3.Endpoint, true, "us-east-1"
	require.NoError(b, client.Init(ctx))
	plan, err := litestream.CalcRestorePlan(ctx, client, 0, time.Time{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(b, err)

	var drillTime, rawTime time.Duration
	var bytes, size int64
	b.ResetTimer()
	for range b.N {
		report, err := replicate.Drill(ctx, r, replicate.DrillOptions{Dir: b.TempDir()})
		require.NoError(b, err)
		drillTime += report.RTO
		bytes, size = report.Downloaded, report.Size

		t0 := time.Now()
		for _, info := range plan {
			rc, err := client.OpenLTXFile(ctx, info.Level, info.MinTXID, info.MaxTXID, 0, 0)
			require.NoError(b, err)
			_, err = io.Copy(io.Discard, rc)
			require.NoError(b, err)
			rc.Close()
		}
		rawTime += time.Since(t0)
	}
	// Both rates are of the same bytes, the replica objects the restore
	// reads, so the speed ratio is the ratio of the times.
	n := float64(b.N)
	drillMBs := float64(bytes) / (1 << 20) / (drillTime.Seconds() / n)
	rawMBs := float64(bytes) / (1 << 20) / (rawTime.Seconds() / n)
	b.ReportMetric((drillTime / time.Duration(b.N)).Seconds(), "drill-rto-s")
	b.ReportMetric((rawTime / time.Duration(b.N)).Seconds(), "raw-s")
	b.ReportMetric(drillMBs, "drill-MB/s")
	b.ReportMetric(rawMBs, "raw-MB/s")
	b.ReportMetric(rawTime.Seconds()/drillTime.Seconds(), "drill/raw-speed")
	b.Logf("%d MiB database (%.1f MiB restored), %d objects, %.1f MiB downloaded: drill restore %s (%.0f MB/s) vs raw download %s (%.0f MB/s): %.2fx",
		mb, float64(size)/(1<<20), len(plan), float64(bytes)/(1<<20), (drillTime / time.Duration(b.N)).Round(time.Millisecond), drillMBs,
		(rawTime / time.Duration(b.N)).Round(time.Millisecond), rawMBs, rawTime.Seconds()/drillTime.Seconds())
}
