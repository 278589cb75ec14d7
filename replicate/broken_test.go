package replicate_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/slipwayhq/slipway/internal/lab"
	"github.com/slipwayhq/slipway/replicate"
	"github.com/stretchr/testify/require"
)

// writeReplicated commits n transactions to a new database replicating to
// r in-process, and ships them all.
func writeReplicated(t *testing.T, r replicate.Replica, n int) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, os.MkdirAll(filepath.Dir(r.DB), 0o755))
	db, err := sql.Open("sqlite", "file:"+r.DB+"?_pragma=journal_mode(wal)&_pragma=busy_timeout(5000)")
	require.NoError(t, err)
	defer db.Close()
	_, err = db.Exec("CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, name TEXT)")
	require.NoError(t, err)
	rep, err := replicate.Start(ctx, r)
	require.NoError(t, err)
	for i := range n {
		_, err := db.Exec("INSERT INTO items (name) VALUES (?)", "item")
		require.NoError(t, err)
		if i%10 == 9 {
			require.NoError(t, rep.Sync(ctx)) // one LTX object per ten commits
		}
	}
	require.NoError(t, rep.Close(ctx))
}

// objects lists the replica's LTX objects on the lab server's disk.
func objects(t *testing.T, s3 *lab.S3, r replicate.Replica) []string {
	files, err := filepath.Glob(filepath.Join(s3.Dir, r.S3.Bucket, filepath.Base(r.DB), "*", "*.ltx"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	return files
}

func TestDrillNamesBrokenObject(t *testing.T) {
	s3 := lab.RequireS3(t)
	ctx := context.Background()

	t.Run("passes on a sound replica and fails a query out of bounds", func(t *testing.T) {
		r := labReplica(t, s3, filepath.Join(t.TempDir(), "sound.db"))
		writeReplicated(t, r, 50)
		rep, err := replicate.Drill(ctx, r, replicate.DrillOptions{Queries: []replicate.Query{{Name: "items", SQL: "SELECT * FROM items", MinRows: 50, MaxRows: 50}}})
		require.NoError(t, err)
		require.True(t, rep.Passed)
		_, err = replicate.Drill(ctx, r, replicate.DrillOptions{Queries: []replicate.Query{{Name: "too many items", SQL: "SELECT * FROM items", MaxRows: 10}}})
		require.ErrorContains(t, err, `query "too many items": 50 rows, want 0..10`)
	})

	t.Run("fails naming a corrupt object", func(t *testing.T) {
		r := labReplica(t, s3, filepath.Join(t.TempDir(), "corrupt.db"))
		writeReplicated(t, r, 50)
		files := objects(t, s3, r)
		victim := files[len(files)/2]
		b, err := os.ReadFile(victim)
		require.NoError(t, err)
		for i := 200; i < len(b)-100 && i < 260; i++ {
			b[i] ^= 0xff
		}
		require.NoError(t, os.WriteFile(victim, b, 0o644))
		_, err = replicate.Drill(ctx, r, replicate.DrillOptions{})
		require.Error(t, err)
		t.Logf("corrupt: %v", err)
		require.ErrorContains(t, err, filepath.Base(victim))
	})

	t.Run("fails naming a missing object", func(t *testing.T) {
		r := labReplica(t, s3, filepath.Join(t.TempDir(), "missing.db"))
		writeReplicated(t, r, 50)
		files := objects(t, s3, r)
		victim := files[len(files)/2]
		require.NoError(t, os.Remove(victim))
		_, err := replicate.Drill(ctx, r, replicate.DrillOptions{})
		require.Error(t, err)
		t.Logf("missing: %v", err)
		require.ErrorContains(t, err, filepath.Base(victim))
	})
}
