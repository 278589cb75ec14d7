package up

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"sync"
)

// sqliteDrivers are the database/sql driver names SQLite looks for, in
// order: "sqlite" (modernc.org/sqlite) and "sqlite3" (mattn/go-sqlite3,
// ncruces/go-sqlite3). The app registers one by importing it. Not a
// setting: every common Go SQLite driver registers one of these names,
// and a mutable list would let one package change another's check.
var sqliteDrivers = []string{"sqlite", "sqlite3"}

// SQLite returns a check named "sqlite" that passes when the database
// file at path exists and answers a query (SELECT count(*) FROM
// sqlite_master, which also proves the file is a database). It opens the
// file read-only, never creating it, through whichever SQLite
// driver the app registered ("sqlite", as modernc.org/sqlite names itself,
// or "sqlite3", as mattn/go-sqlite3 and ncruces/go-sqlite3 do), once, and keeps that connection;
// it reopens after an error or when the file at path is replaced (as a
// restore does). Handler.Close closes it.
func SQLite(path string) Check {
	s := &sqliteCheck{path: path}
	return Check{Name: "sqlite", Run: s.run, Close: s.close}
}

type sqliteCheck struct {
	path string

	mu   sync.Mutex
	db   *sql.DB
	conn *sql.Conn
	file os.FileInfo // the file conn was opened on
}

func (s *sqliteCheck) run(ctx context.Context) error {
	fi, err := os.Stat(s.path)
	if err != nil {
		return fmt.Errorf("database file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("database file %s is not a regular file", s.path)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil && !os.SameFile(s.file, fi) {
		s.closeLocked()
	}
	if s.conn == nil {
		if err := s.open(ctx, fi); err != nil {
			return err
		}
	}
	var n int
	if err := s.conn.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master").Scan(&n); err != nil {
		s.closeLocked()
		return fmt.Errorf("query database %s: %w", s.path, err)
	}
	return nil
}

func (s *sqliteCheck) open(ctx context.Context, fi os.FileInfo) error {
	drivers := sql.Drivers()
	i := slices.IndexFunc(sqliteDrivers, func(d string) bool { return slices.Contains(drivers, d) })
	if i < 0 {
		return fmt.Errorf("no SQLite driver registered (looked for %q): import one, such as modernc.org/sqlite", sqliteDrivers)
	}
	// A URI with mode=ro: never create the file, never take a write lock.
	dsn := "file:" + (&url.URL{Path: s.path}).EscapedPath() + "?mode=ro"
	db, err := sql.Open(sqliteDrivers[i], dsn)
	if err != nil {
		return fmt.Errorf("open database %s: %w", s.path, err)
	}
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err == nil {
		// Wait briefly for a writer's lock rather than failing at once.
		_, err = conn.ExecContext(ctx, "PRAGMA busy_timeout = 200")
		if err != nil {
			_ = conn.Close()
		}
	}
	if err != nil {
		_ = db.Close()
		return fmt.Errorf("open database %s: %w", s.path, err)
	}
	s.db, s.conn, s.file = db, conn, fi
	return nil
}

func (s *sqliteCheck) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closeLocked()
}

func (s *sqliteCheck) closeLocked() error {
	if s.db == nil {
		return nil
	}
	err := errors.Join(s.conn.Close(), s.db.Close())
	s.db, s.conn, s.file = nil, nil, nil
	return err
}

// Writable returns a check named "writable" that passes when a file can
// be created, written and removed in dir (it catches a full disk or a
// read-only mount). Rename it with the Name field to use several.
func Writable(dir string) Check {
	return Check{Name: "writable", Run: func(ctx context.Context) error {
		f, err := os.CreateTemp(dir, ".slipway-up-*")
		if err != nil {
			return fmt.Errorf("create a file: %w", err)
		}
		_, werr := f.Write([]byte("ok\n"))
		err = errors.Join(werr, f.Close(), os.Remove(f.Name()))
		if err != nil {
			return fmt.Errorf("write %s: %w", f.Name(), err)
		}
		return nil
	}}
}

// Func returns a check that runs fn under name. fn should honour ctx,
// which ends at the check's timeout.
func Func(name string, fn func(ctx context.Context) error) Check {
	return Check{Name: name, Run: fn}
}
