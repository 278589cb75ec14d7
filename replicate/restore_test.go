package replicate_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/lab"
	"github.com/slipwayhq/slipway/replicate"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tree lists every file under dir with its size and modification time.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if info, err := d.Info(); err == nil && !d.IsDir() {
			files[p] = info.ModTime().Format(time.RFC3339Nano)
		}
		return nil
	}))
	return files
}

// TestRestoreBesideTheLiveDatabase: restoring (or drilling) into the live
// database's own directory leaves that database and its Litestream state
// exactly as they were.
func TestRestoreBesideTheLiveDatabase(t *testing.T) {
	s3 := lab.RequireS3(t)
	ctx := context.Background()
	live := filepath.Join(t.TempDir(), "app.db")
	r := labReplica(t, s3, live)
	db := newDB(t, live, 40)
	rep, err := replicate.StartWith(ctx, r, replicate.StartOptions{Logger: quiet()})
	require.NoError(t, err)
	require.NoError(t, rep.Sync(ctx))
	require.NoError(t, rep.Close(ctx)) // quiet, so the directory holds still
	require.DirExists(t, filepath.Join(filepath.Dir(live), ".app.db-litestream"))
	dir := filepath.Dir(live)
	before := tree(t, dir)

	t.Run("a restore onto the live database is refused and touches nothing", func(t *testing.T) {
		_, err := replicate.Restore(ctx, r, live, time.Time{})
		require.ErrorIs(t, err, os.ErrExist)
		assert.Equal(t, before, tree(t, dir))
	})
	t.Run("a drill into the live database's directory is refused and touches nothing", func(t *testing.T) {
		_, err := replicate.Drill(ctx, r, replicate.DrillOptions{Dir: dir})
		require.ErrorIs(t, err, os.ErrExist)
		assert.Equal(t, before, tree(t, dir))
	})
	t.Run("a restore beside it adds only the new file", func(t *testing.T) {
		out := filepath.Join(dir, "restored.db")
		_, err := replicate.Restore(ctx, r, out, time.Time{})
		require.NoError(t, err)
		assert.Equal(t, int64(40), countItems(t, out))
		after := tree(t, dir)
		for _, f := range []string{out, out + "-wal", out + "-shm"} { // the restored file, as countItems opened it
			delete(after, f)
		}
		assert.Equal(t, before, after, "the live database and its .app.db-litestream are as they were; no scratch is left")
	})
	var n int64
	require.NoError(t, db.QueryRow("SELECT count(*) FROM items").Scan(&n))
	assert.Equal(t, int64(40), n)
}
