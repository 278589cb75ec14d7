package replicate_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/replicate"
)

// brokenDB writes a database that integrity_check faults: a NULL in a
// column its schema declares NOT NULL, as a damaged schema or a bad
// manual fix leaves one.
func brokenDB(path string) error {
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1) // writable_schema holds on the one connection
	for _, q := range []string{
		"CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT)",
		"INSERT INTO orders (customer) VALUES (NULL)",
		"PRAGMA writable_schema = ON",
		"UPDATE sqlite_schema SET sql = 'CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT NOT NULL)' WHERE name = 'orders'",
	} {
		if _, err := db.Exec(q); err != nil {
			return err
		}
	}
	return nil
}

func TestCheckIntegrity(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()

	t.Run("passes a sound database", func(t *testing.T) {
		path := filepath.Join(dir, "sound.db")
		db, err := sql.Open("sqlite", "file:"+path)
		require.NoError(t, err)
		_, err = db.Exec("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO items (name) VALUES ('a')")
		require.NoError(t, err)
		require.NoError(t, db.Close())
		require.NoError(t, replicate.CheckIntegrity(ctx, path))
	})

	t.Run("lists every problem of a damaged database", func(t *testing.T) {
		path := filepath.Join(dir, "broken.db")
		require.NoError(t, brokenDB(path))
		err := replicate.CheckIntegrity(ctx, path)
		require.ErrorIs(t, err, replicate.ErrCorrupt)
		ierr, ok := errors.AsType[*replicate.IntegrityError](err)
		require.True(t, ok)
		assert.Equal(t, path, ierr.Path)
		assert.Equal(t, []string{"NULL value in orders.customer"}, ierr.Problems)
		assert.ErrorContains(t, err, `says "NULL value in orders.customer", not ok`)
	})

	t.Run("fails on a file that is not a database, without creating one", func(t *testing.T) {
		path := filepath.Join(dir, "missing.db")
		err := replicate.CheckIntegrity(ctx, path)
		require.Error(t, err)
		assert.NotErrorIs(t, err, replicate.ErrCorrupt)
		_, statErr := os.Stat(path)
		assert.ErrorIs(t, statErr, os.ErrNotExist, "a read-only check creates nothing")
	})
}

// Check a restored file before trusting it: a damaged one says what
// SQLite found, row by row.
func ExampleCheckIntegrity() {
	dir, _ := os.MkdirTemp("", "integrity")
	defer os.RemoveAll(dir)
	restored := filepath.Join(dir, "restored.db")
	if err := brokenDB(restored); err != nil {
		fmt.Println(err)
		return
	}

	err := replicate.CheckIntegrity(context.Background(), restored)
	if ierr, ok := errors.AsType[*replicate.IntegrityError](err); ok {
		fmt.Println(errors.Is(err, replicate.ErrCorrupt), ierr.Answer())
	}
	// Output:
	// true NULL value in orders.customer
}
