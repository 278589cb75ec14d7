package replicate_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/lab"
	"github.com/slipwayhq/slipway/replicate"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"
)

// labReplica makes a replica of db in a fresh bucket of the lab's S3
// server, with the credentials in the environment under their default
// names.
func labReplica(t *testing.T, s3 *lab.S3, db string) replicate.Replica {
	t.Helper()
	t.Setenv(replicate.DefaultAccessKeyIDVar, s3.AccessKeyID)
	t.Setenv(replicate.DefaultSecretAccessKeyVar, s3.SecretAccessKey)
	return replicate.Replica{DB: db, S3: &replicate.S3{Bucket: s3.Bucket(t, "rep"), Endpoint: s3.Endpoint}}
}

func startDBApp(t *testing.T, mode string, r replicate.Replica, env ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "SLIPWAY_DBAPP="+mode, "DBAPP_DB="+r.DB, "DBAPP_BUCKET="+r.S3.Bucket, "DBAPP_ENDPOINT="+r.S3.Endpoint)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = os.Stderr
	return cmd
}

func readAck(t *testing.T, path string) (id int64, at time.Time) {
	b, err := os.ReadFile(path)
	if err != nil || len(b) < 16 {
		return 0, time.Time{}
	}
	return int64(binary.BigEndian.Uint64(b)), time.UnixMilli(int64(binary.BigEndian.Uint64(b[8:])))
}

// TestKillAndRestore is the first end-to-end claim: an app writing
// about 500 commits a second with embedded replication is SIGKILLed, and a
// restore into a fresh place passes integrity_check and lags the last
// acknowledged commit by at most twice the sync interval.
func TestKillAndRestore(t *testing.T) {
	s3 := lab.RequireS3(t)
	dir := t.TempDir()
	r := labReplica(t, s3, filepath.Join(dir, "primary", "app.db"))
	ack := filepath.Join(dir, "ack")
	app := startDBApp(t, "write", r, "DBAPP_ACK="+ack, "DBAPP_RATE=500", "DBAPP_FOR=30s")
	require.NoError(t, app.Start())
	t.Cleanup(func() { app.Process.Kill(); app.Wait() })

	// Let it write for a while, bounded in time.
	time.Sleep(2 * time.Second)
	id0, _ := readAck(t, ack)
	time.Sleep(6 * time.Second)
	id1, _ := readAck(t, ack)
	require.Greater(t, id1, id0, "the app commits")
	t.Logf("app committed %.0f transactions/s", float64(id1-id0)/6)

	require.NoError(t, app.Process.Signal(syscall.SIGKILL))
	app.Wait()
	lastID, lastAt := readAck(t, ack)
	t.Logf("SIGKILL after commit %d at %s", lastID, lastAt.Format("15:04:05.000"))

	// The replica is whatever had been shipped when the process died.
	log := filepath.Join(dir, "drills.jsonl")
	restored := filepath.Join(dir, "fresh")
	rep, err := replicate.Drill(context.Background(), r, replicate.DrillOptions{
		Dir: restored, Primary: r.DB, Log: log,
		Queries: []replicate.Query{{Name: "events exist", SQL: "SELECT id FROM events", MinRows: 1}},
	})
	require.NoError(t, err)
	assert.Equal(t, "ok", rep.Integrity)

	db, err := sql.Open("sqlite", "file:"+filepath.Join(restored, "app.db")+"?mode=ro")
	require.NoError(t, err)
	defer db.Close()
	var maxID, maxTS int64
	require.NoError(t, db.QueryRow("SELECT max(id), max(ts) FROM events").Scan(&maxID, &maxTS))
	lag := lastAt.Sub(time.UnixMilli(maxTS))
	t.Logf("restored up to commit %d of %d: lag %s behind the last acknowledged commit (bound %s); drill RTO %s, RPO %s",
		maxID, lastID, lag, 2*replicate.DefaultSyncInterval, rep.RTO.Round(time.Millisecond), rep.RPO.Round(time.Millisecond))
	assert.LessOrEqual(t, lag, 2*replicate.DefaultSyncInterval)
	assert.LessOrEqual(t, maxID, lastID)

	var table bytes.Buffer
	reps, err := replicate.ReadDrillLog(log)
	require.NoError(t, err)
	require.NoError(t, replicate.PrintDrills(&table, reps...))
	t.Logf("drill log:\n%s", table.String())
	assert.NotContains(t, table.String(), s3.SecretAccessKey)

	t.Run("restores on boot into an empty volume", func(t *testing.T) {
		boot := r
		boot.DB = filepath.Join(dir, "empty-volume", "app.db")
		out, err := startDBApp(t, "count", boot).Output()
		require.NoError(t, err)
		n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
		require.NoError(t, err)
		assert.Equal(t, maxID, n, "the app came up with the replicated rows")
	})

	t.Run("verify fails on a stale replica", func(t *testing.T) {
		f, err := replicate.Verify(context.Background(), r, time.Hour)
		require.NoError(t, err)
		t.Logf("fresh: %s", f)
		time.Sleep(1100 * time.Millisecond)
		f, err = replicate.Verify(context.Background(), r, time.Second)
		require.ErrorIs(t, err, replicate.ErrStale)
		t.Logf("stale: %v", err)
		assert.Equal(t, uint64(rep.Restored.TXID), f.Newest.TXID)
		assert.NotContains(t, err.Error(), s3.SecretAccessKey)
	})
}
