package replicate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	_ "modernc.org/sqlite" // the driver Litestream itself uses
)

// ErrCorrupt means a database file fails SQLite's integrity check.
var ErrCorrupt = errors.New("database fails its integrity check")

// IntegrityError is a PRAGMA integrity_check that did not say ok: the
// problems SQLite listed, one a row. It unwraps to ErrCorrupt.
type IntegrityError struct {
	// Path is the database file checked.
	Path string
	// Problems are the rows integrity_check returned.
	Problems []string
}

// Error returns the problems joined, as integrity_check listed them.
func (e *IntegrityError) Error() string {
	return fmt.Sprintf("integrity_check on %s says %q, not ok", e.Path, e.Answer())
}

// Unwrap returns ErrCorrupt.
func (e *IntegrityError) Unwrap() error { return ErrCorrupt }

// Answer is integrity_check's answer as one line: its rows joined by
// "; ", the form a drill log records.
func (e *IntegrityError) Answer() string { return strings.Join(e.Problems, "; ") }

// CheckIntegrity runs PRAGMA integrity_check on the database file at
// path, opened read-only so a check never changes what it checks. It
// returns nil when SQLite says ok, an *IntegrityError (ErrCorrupt)
// listing every problem when it does not, and the error met otherwise.
// It is the one integrity check of Slipway: drills and recoveries call
// it on what they restored before anything is trusted or put in place.
func CheckIntegrity(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return fmt.Errorf("integrity_check on %s: %w", path, err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return fmt.Errorf("integrity_check on %s: %w", path, err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return fmt.Errorf("integrity_check on %s: %w", path, err)
		}
		problems = append(problems, line)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("integrity_check on %s: %w", path, err)
	}
	if len(problems) == 1 && problems[0] == "ok" {
		return nil
	}
	return &IntegrityError{Path: path, Problems: problems}
}
