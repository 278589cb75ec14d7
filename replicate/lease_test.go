package replicate_test

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/lab"
	"github.com/slipwayhq/slipway/replicate"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// replicaFiles lists the files under the replica's path on the lab
// server's disk with their modification times, to show that a refused
// replicator wrote nothing: the lease object, L0 (where a new
// replicator's first sync lands) and the snapshot level. Compaction
// levels 1-8 are left out: the idle holder compacts into them on its own
// schedule.
func replicaFiles(t *testing.T, root string) map[string]string {
	t.Helper()
	files := map[string]string{}
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if lvl := filepath.Base(filepath.Dir(p)); lvl > "0000" && lvl < "0009" {
			return nil
		}
		if info, err := d.Info(); err == nil {
			files[strings.TrimPrefix(p, root)] = info.ModTime().Format(time.RFC3339Nano) + " " + info.Name()
		}
		return nil
	})
	return files
}

// settledReplicaFiles is replicaFiles once the holder has stopped
// writing its start-up files: its first snapshot (level 9) lands a
// moment after Sync returns, and a "before" taken earlier would blame
// the holder's snapshot on the refused replicator. It waits at most 5 s
// for two reads 200 ms apart to agree.
func settledReplicaFiles(t *testing.T, root string) map[string]string {
	t.Helper()
	files := replicaFiles(t, root)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
		next := replicaFiles(t, root)
		if maps.Equal(files, next) {
			break
		}
		files = next
	}
	return files
}

// newDB makes a WAL database with an items table and n rows.
func newDB(t *testing.T, path string, n int) *sql.DB {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	db := openApp(path)
	t.Cleanup(func() { db.Close() })
	_, err := db.Exec("CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, name TEXT)")
	require.NoError(t, err)
	for range n {
		_, err := db.Exec("INSERT INTO items (name) VALUES ('x')")
		require.NoError(t, err)
	}
	return db
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TestLease is issue 11's one-replicator rule against the lab's real S3
// server (versitygw checks If-None-Match and If-Match).
func TestLease(t *testing.T) {
	s3 := lab.RequireS3(t)
	ctx := context.Background()
	dir := t.TempDir()
	r := labReplica(t, s3, filepath.Join(dir, "a", "app.db"))
	root := filepath.Join(s3.Dir, r.S3.Bucket, "app.db")

	db := newDB(t, r.DB, 20)
	first, err := replicate.StartWith(ctx, r, replicate.StartOptions{Owner: "replicator-A on web-1", Logger: quiet()})
	require.NoError(t, err)
	t.Cleanup(func() { first.Close(ctx) })
	require.NoError(t, first.Sync(ctx))
	st := first.Status()
	assert.Equal(t, replicate.LeaseHeld, st.Lease.State)
	assert.FileExists(t, filepath.Join(root, replicate.LeaseFile))

	t.Run("a second replicator on the same path is refused, naming the holder, and writes nothing", func(t *testing.T) {
		// Another host's own copy of the database, replicating to the same path.
		other := r
		other.DB = filepath.Join(dir, "b", "app.db")
		newDB(t, other.DB, 5)
		before := settledReplicaFiles(t, root)
		start := time.Now()
		_, err := replicate.StartWith(ctx, other, replicate.StartOptions{Owner: "replicator-B on web-2", LeaseWait: 1500 * time.Millisecond, Logger: quiet()})
		require.ErrorIs(t, err, replicate.ErrLeaseHeld)
		var held *replicate.LeaseHeldError
		require.True(t, errors.As(err, &held))
		assert.Equal(t, "replicator-A on web-1", held.Owner)
		assert.WithinDuration(t, time.Now().Add(replicate.DefaultLeaseTTL), held.ExpiresAt, replicate.DefaultLeaseTTL)
		assert.GreaterOrEqual(t, time.Since(start), 1500*time.Millisecond, "it waited LeaseWait for a release")
		assert.Contains(t, err.Error(), "replicator-A on web-1")
		assert.NotContains(t, err.Error(), s3.SecretAccessKey)
		t.Logf("refused: %v", err)
		assert.Equal(t, before, replicaFiles(t, root), "the refused replicator wrote nothing to the replica")

		// The holder goes on, and the replica restores whole.
		_, err = db.Exec("INSERT INTO items (name) VALUES ('after the refusal')")
		require.NoError(t, err)
		require.NoError(t, first.Sync(ctx))
		out := filepath.Join(t.TempDir(), "restored.db")
		_, err = replicate.Restore(ctx, r, out, time.Time{})
		require.NoError(t, err)
		assert.Equal(t, int64(21), countItems(t, out), "integrity_check ok and every row of the holder's database")
	})

	t.Run("Close releases the lease and the next replicator takes it at once", func(t *testing.T) {
		require.NoError(t, first.Close(ctx))
		assert.Equal(t, replicate.LeaseReleased, first.Status().Lease.State)
		assert.NoFileExists(t, filepath.Join(root, replicate.LeaseFile))
		next, err := replicate.StartWith(ctx, r, replicate.StartOptions{Owner: "replicator-C", LeaseWait: -1, Logger: quiet()})
		require.NoError(t, err)
		_, err = db.Exec("INSERT INTO items (name) VALUES ('after the handoff')")
		require.NoError(t, err)
		require.NoError(t, next.Sync(ctx))
		assert.Equal(t, replicate.LeaseHeld, next.Status().Lease.State)
		require.NoError(t, next.Close(ctx))
		out := filepath.Join(t.TempDir(), "restored.db")
		_, err = replicate.Restore(ctx, r, out, time.Time{})
		require.NoError(t, err)
		assert.Equal(t, int64(22), countItems(t, out))
	})
}

// TestLeaseOfVanishedHolder: a replicator SIGKILLed while holding the
// lease never releases it; the next one takes it once its TTL ran out.
func TestLeaseOfVanishedHolder(t *testing.T) {
	s3 := lab.RequireS3(t)
	ctx := context.Background()
	dir := t.TempDir()
	r := labReplica(t, s3, filepath.Join(dir, "primary", "app.db"))
	ack := filepath.Join(dir, "ack")
	const ttl = 2 * time.Second
	app := startDBApp(t, "write", r, "DBAPP_ACK="+ack, "DBAPP_RATE=50", "DBAPP_FOR=20s", "DBAPP_LEASE_TTL="+ttl.String(), "DBAPP_OWNER=vanishing-app")
	require.NoError(t, app.Start())
	t.Cleanup(func() { app.Process.Kill(); app.Wait() })
	require.Eventually(t, func() bool { id, _ := readAck(t, ack); return id > 10 }, 10*time.Second, 50*time.Millisecond)

	_, err := replicate.StartWith(ctx, r, replicate.StartOptions{LeaseWait: -1, Logger: quiet()})
	var held *replicate.LeaseHeldError
	require.True(t, errors.As(err, &held), "%v", err)
	assert.Contains(t, held.Owner, "vanishing-app")

	require.NoError(t, app.Process.Signal(syscall.SIGKILL))
	app.Wait()
	killed := time.Now()
	next, err := replicate.StartWith(ctx, r, replicate.StartOptions{LeaseTTL: ttl, LeaseWait: 3 * ttl, Logger: quiet()})
	require.NoError(t, err, "the lease of a vanished holder expires after its TTL")
	took := time.Since(killed)
	t.Logf("took the vanished holder's lease %s after the kill (TTL %s)", took.Round(time.Millisecond), ttl)
	assert.Less(t, took, 3*ttl)
	require.NoError(t, next.Sync(ctx))
	require.NoError(t, next.Close(ctx))
	out := filepath.Join(t.TempDir(), "restored.db")
	_, err = replicate.Restore(ctx, r, out, time.Time{})
	require.NoError(t, err)
	check, err := sql.Open("sqlite", "file:"+out+"?mode=ro")
	require.NoError(t, err)
	defer check.Close()
	var ok string
	require.NoError(t, check.QueryRow("PRAGMA integrity_check").Scan(&ok))
	assert.Equal(t, "ok", ok)
}

// TestLeaseLost: a replicator whose renewal fails (here another took the
// lease after the lock object was removed behind its back) stops writing
// to the replica and says so in Status, Lag and Sync.
func TestLeaseLost(t *testing.T) {
	s3 := lab.RequireS3(t)
	ctx := context.Background()
	r := labReplica(t, s3, filepath.Join(t.TempDir(), "app.db"))
	db := newDB(t, r.DB, 10)
	const ttl = 1500 * time.Millisecond
	first, err := replicate.StartWith(ctx, r, replicate.StartOptions{Owner: "first", LeaseTTL: ttl, Logger: quiet()})
	require.NoError(t, err)
	t.Cleanup(func() { first.Close(ctx) })
	require.NoError(t, first.Sync(ctx))

	require.NoError(t, os.Remove(filepath.Join(s3.Dir, r.S3.Bucket, "app.db", replicate.LeaseFile)))
	other := r
	other.DB = filepath.Join(t.TempDir(), "other.db")
	newDB(t, other.DB, 1)
	second, err := replicate.StartWith(ctx, other, replicate.StartOptions{Owner: "second", LeaseWait: -1, Logger: quiet()})
	require.NoError(t, err)
	t.Cleanup(func() { second.Close(ctx) })

	require.Eventually(t, func() bool { return first.Status().Lease.State == replicate.LeaseLost }, 5*ttl, 50*time.Millisecond)
	st := first.Status()
	t.Logf("after losing the lease: %s", st)
	assert.True(t, st.Failing())
	_, err = first.Lag()
	require.ErrorIs(t, err, replicate.ErrLeaseLost)
	_, err = db.Exec("INSERT INTO items (name) VALUES ('after the loss')")
	require.NoError(t, err)
	require.ErrorIs(t, first.Sync(ctx), replicate.ErrLeaseLost)
	require.Eventually(t, func() bool { return first.Status().Stopped }, 5*time.Second, 50*time.Millisecond)
	require.ErrorIs(t, first.Close(ctx), replicate.ErrLeaseLost)
	assert.Equal(t, replicate.LeaseHeld, second.Status().Lease.State, "the new holder keeps its lease")
}

// TestLeaseRenews: a holder keeps its lease across several TTLs by
// renewing it (If-Match on the lab server), and a newcomer is refused
// all along.
func TestLeaseRenews(t *testing.T) {
	s3 := lab.RequireS3(t)
	ctx := context.Background()
	r := labReplica(t, s3, filepath.Join(t.TempDir(), "app.db"))
	newDB(t, r.DB, 3)
	const ttl = 900 * time.Millisecond
	rep, err := replicate.StartWith(ctx, r, replicate.StartOptions{Owner: "renewer", LeaseTTL: ttl, Logger: quiet()})
	require.NoError(t, err)
	defer rep.Close(ctx)
	taken := rep.Status().Lease
	time.Sleep(4 * ttl)
	now := rep.Status().Lease
	assert.Equal(t, replicate.LeaseHeld, now.State)
	assert.True(t, now.Renewed.After(taken.Renewed.Add(2*ttl)), "renewed %s, taken %s", now.Renewed, taken.Renewed)
	assert.True(t, now.ExpiresAt.After(time.Now()))
	_, err = replicate.StartWith(ctx, r, replicate.StartOptions{LeaseWait: -1, Logger: quiet()})
	require.ErrorIs(t, err, replicate.ErrLeaseHeld)
	require.NoError(t, rep.Sync(ctx))
}
