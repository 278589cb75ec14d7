package replicate

import (
	"path/filepath"

	"github.com/benbjohnson/litestream"
)

// StateDir is where Litestream keeps its local state of the database at
// db: ".<name>-litestream" beside it (relative when db is). A recovery
// moves it aside with the damaged database; the live position and the
// data at risk are read from its transactions (TransactionsDir). It is
// Litestream's own layout, named here so that no caller spells it.
func StateDir(db string) string {
	dir, file := filepath.Split(db)
	return filepath.Join(dir, "."+file+litestream.MetaDirSuffix)
}

// TransactionsDir holds the level-0 transaction files of StateDir(db),
// the names a LiveState's Files lists.
func TransactionsDir(db string) string { return filepath.Join(StateDir(db), "ltx", "0") }
