// Command notes is the example of Slipway's recommended layout: an app
// module (example.com/notes) that pins its own SQLite driver and imports
// only health/up of Slipway, and a nested deployment module (deployment/)
// that holds its App and magefile. The app's go.mod, and so its binary,
// stays what the app chose: deploying it with Slipway changes neither.
//
// It keeps notes in the SQLite database at DATABASE_PATH (default
// /data/notes.db): GET / lists them, POST / with a body adds one, and GET
// /up answers for the deploy's health gate. PORT sets the port (default
// 3000). It handles SIGTERM (it is PID 1 in a scratch image): in-flight
// requests finish, then it exits.
package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	_ "modernc.org/sqlite" // registers "sqlite"; the version is the app's choice (go.mod)

	"github.com/slipwayhq/slipway/health/up"
)

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	path := env("DATABASE_PATH", "/data/notes.db")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(wal)&_pragma=busy_timeout(5000)")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1) // one writer; SQLite serialises writes anyway
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("create schema in %s: %w", path, err)
	}
	// The SQLite the binary links is the one the app's go.mod pins, not
	// the deploy SDK's: the deployment module is another module.
	var version string
	if err := db.QueryRowContext(ctx, `SELECT sqlite_version()`).Scan(&version); err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	log.Printf("notes: SQLite %s, database %s", version, path)

	health := up.NewHandler(up.SQLite(path), up.Writable(filepath.Dir(path)))
	defer health.Close()

	mux := http.NewServeMux()
	mux.Handle("GET /up", health)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		rows, err := db.QueryContext(r.Context(), `SELECT id, body FROM notes ORDER BY id`)
		if err != nil {
			http.Error(w, "could not read the notes", http.StatusInternalServerError)
			log.Printf("list notes: %v", err)
			return
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var body string
			if err := rows.Scan(&id, &body); err != nil {
				log.Printf("list notes: %v", err)
				return
			}
			fmt.Fprintf(w, "#%d %s\n", id, body)
		}
	})
	mux.HandleFunc("POST /{$}", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 4<<10))
		if err != nil || strings.TrimSpace(string(body)) == "" {
			http.Error(w, "send the note as the request body", http.StatusBadRequest)
			return
		}
		var id int64
		err = db.QueryRowContext(r.Context(), `INSERT INTO notes (body) VALUES (?) RETURNING id`,
			strings.TrimSpace(string(body))).Scan(&id)
		if err != nil {
			http.Error(w, "could not save the note", http.StatusInternalServerError)
			log.Printf("add note: %v", err)
			return
		}
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, "#%d\n", id)
	})

	srv := &http.Server{Addr: ":" + env("PORT", "3000"), Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 25*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Printf("notes: listening on %s", srv.Addr)
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
