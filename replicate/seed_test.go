package replicate

import (
	"bytes"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/superfly/ltx"
)

// The seed is a valid level-0 transaction file at the replica's newest
// transaction, matching no WAL: Litestream reads it as its position.
func TestReplicationSeed(t *testing.T) {
	db := filepath.Join(t.TempDir(), "app.db")
	conn, err := sql.Open("sqlite", "file:"+db)
	require.NoError(t, err)
	_, err = conn.Exec("CREATE TABLE t (x); INSERT INTO t VALUES (1)")
	require.NoError(t, err)
	require.NoError(t, conn.Close())

	seed, err := continuationSeed(db, 42)
	require.NoError(t, err)
	dec := ltx.NewDecoder(bytes.NewReader(seed))
	require.NoError(t, dec.Verify())
	h := dec.Header()
	assert.Equal(t, ltx.TXID(42), h.MinTXID)
	assert.Equal(t, ltx.TXID(42), h.MaxTXID)
	assert.Equal(t, int64(32), h.WALOffset+h.WALSize, "at a WAL's start: the replicator snapshots the restored database next")
	assert.Equal(t, ltx.TXID(42), dec.PostApplyPos().TXID)

	_, err = continuationSeed(filepath.Join(t.TempDir(), "missing.db"), 42)
	require.Error(t, err)

	named, err := ContinuationSeed(db, 42)
	require.NoError(t, err)
	assert.Equal(t, ".app.db-litestream/ltx/0/"+ltx.FormatFilename(42, 42), named.Name, "where Litestream looks, beside the database")
	named2 := ltx.NewDecoder(bytes.NewReader(named.Data))
	require.NoError(t, named2.Verify())
	assert.Equal(t, ltx.TXID(42), named2.Header().MaxTXID)
}
