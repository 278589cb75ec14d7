// Command hello is Slipway's example app: a Go web app that keeps its
// data in SQLite, serves /up from health.Handler, and stops gracefully.
//
// It counts visits in the database at DATABASE_PATH (default
// /data/hello.db) and answers GET / with its version (APP_VERSION) and
// the visit count. PORT sets the port (default 3000).
package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	_ "modernc.org/sqlite"

	"github.com/slipwayhq/slipway/health"
)

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	path := env("DATABASE_PATH", "/data/hello.db")
	version := env("APP_VERSION", "dev")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(wal)&_pragma=busy_timeout(5000)&_pragma=synchronous(normal)")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1) // one writer; SQLite serialises writes anyway
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS visits (id INTEGER PRIMARY KEY, at TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("create schema in %s: %w", path, err)
	}

	up := health.NewHandler(health.SQLite(path), health.Writable(filepath.Dir(path)))
	defer up.Close()

	mux := http.NewServeMux()
	mux.Handle("/up", up)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		var n int64
		err := db.QueryRowContext(r.Context(),
			`INSERT INTO visits (at) VALUES (?) RETURNING id`, time.Now().UTC().Format(time.RFC3339Nano)).Scan(&n)
		if err != nil {
			http.Error(w, "could not count the visit", http.StatusInternalServerError)
			log.Printf("count visit: %v", err)
			return
		}
		fmt.Fprintf(w, "hello from %s: visit #%d\n", version, n)
	})

	srv := &http.Server{Addr: ":" + env("PORT", "3000"), Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		log.Printf("hello %s: stopping, finishing in-flight requests", version)
		shutdown, cancel := context.WithTimeout(context.Background(), 25*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()
	log.Printf("hello %s: listening on %s, database %s", version, srv.Addr, path)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	<-done
	return nil
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
