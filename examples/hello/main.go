// Command hello is Slipway's example app: a Go web app that keeps its
// data in SQLite, replicates it to S3 with the embedded Litestream
// library, restores it on boot when the file is missing, serves /up from
// health/up's Handler, and stops gracefully. It imports of Slipway only
// what an app needs (health/up and replicate), never the deploy SDK.
//
// It counts visits in the database at DATABASE_PATH (default
// /data/hello.db) and answers GET / with its version (SLIPWAY_VERSION,
// which Slipway sets) and
// the visit count. PORT sets the port (default 3000). Replication is on
// when the deploy gives hello its database's replica (the App declares
// it in Databases; replicate.FromEnv reads it back), with the
// credentials in LITESTREAM_ACCESS_KEY_ID and LITESTREAM_SECRET_ACCESS_KEY.
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

	"github.com/slipwayhq/slipway/health/up"
	"github.com/slipwayhq/slipway/replicate"
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
	version := env("SLIPWAY_VERSION", "dev")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	// The replica of the database named hello.db in the App's Databases.
	replica, replicated, err := replicate.FromEnv(filepath.Base(path))
	if err != nil {
		return err
	}
	if replicated && replica.DB != path {
		return fmt.Errorf("the replica is of %s, but DATABASE_PATH is %s; declare the database's path once", replica.DB, path)
	}
	if replicated {
		// Before the database is opened: a new volume gets the replicated data.
		restored, err := replicate.RestoreIfMissing(ctx, replica)
		if err != nil {
			return fmt.Errorf("restore %s from %s: %w", path, replica, err)
		}
		if restored {
			log.Printf("hello %s: restored %s from %s", version, path, replica)
		}
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

	if replicated {
		rep, err := replicate.Start(ctx, replica)
		if err != nil {
			return fmt.Errorf("replicate %s to %s: %w", path, replica, err)
		}
		defer rep.Close(context.WithoutCancel(ctx))
		log.Printf("hello %s: replicating %s to %s", version, path, replica)
	}

	health := up.NewHandler(up.SQLite(path), up.Writable(filepath.Dir(path)))
	defer health.Close()

	mux := http.NewServeMux()
	mux.Handle("/up", health)
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
