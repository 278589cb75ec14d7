package replicate_test

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/replicate"
)

// TestMain lets the test binary be the lab's SQLite app: when
// SLIPWAY_DBAPP is set it runs as that app instead of the tests, so an
// end-to-end test can SIGKILL a real process that replicates in-process.
func TestMain(m *testing.M) {
	if mode := os.Getenv("SLIPWAY_DBAPP"); mode != "" {
		if err := dbapp(mode); err != nil {
			fmt.Fprintln(os.Stderr, "dbapp:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// dbapp is a Go app using embedded replication. Mode "write" restores on
// boot, then commits one row per transaction at DBAPP_RATE a second for
// at most DBAPP_FOR (its lease named DBAPP_OWNER and lasting
// DBAPP_LEASE_TTL when set), recording after each commit the acknowledged row id
// and its commit time (unix ms) in the 16-byte file DBAPP_ACK. Mode
// "count" restores on boot and prints the number of rows.
func dbapp(mode string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	r := replicate.Replica{DB: os.Getenv("DBAPP_DB"), S3: &replicate.S3{Bucket: os.Getenv("DBAPP_BUCKET"), Endpoint: os.Getenv("DBAPP_ENDPOINT")}}
	if err := os.MkdirAll(filepath.Dir(r.DB), 0o755); err != nil {
		return err
	}
	if _, err := replicate.RestoreIfMissing(ctx, r); err != nil {
		return err
	}
	db, err := sql.Open("sqlite", "file:"+r.DB+"?_pragma=journal_mode(wal)&_pragma=busy_timeout(5000)&_pragma=synchronous(normal)")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec("CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, body TEXT NOT NULL)"); err != nil {
		return err
	}
	if mode == "count" {
		var n int64
		if err := db.QueryRow("SELECT count(*) FROM events").Scan(&n); err != nil {
			return err
		}
		fmt.Println(n)
		return nil
	}
	ttl, _ := time.ParseDuration(os.Getenv("DBAPP_LEASE_TTL")) // "" keeps the default
	rep, err := replicate.StartWith(ctx, r, replicate.StartOptions{Owner: os.Getenv("DBAPP_OWNER"), LeaseTTL: ttl})
	if err != nil {
		return err
	}
	defer rep.Close(context.Background())
	ack, err := os.OpenFile(os.Getenv("DBAPP_ACK"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	rate, _ := strconv.Atoi(os.Getenv("DBAPP_RATE"))
	limit, _ := time.ParseDuration(os.Getenv("DBAPP_FOR"))
	deadline := time.Now().Add(limit)
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	buf := make([]byte, 16)
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		now := time.Now().UnixMilli()
		res, err := db.Exec("INSERT INTO events (ts, body) VALUES (?, ?)", now, "event body of a realistic size, about sixty four bytes long...")
		if err != nil {
			return err
		}
		id, _ := res.LastInsertId()
		binary.BigEndian.PutUint64(buf, uint64(id))
		binary.BigEndian.PutUint64(buf[8:], uint64(now))
		if _, err := ack.WriteAt(buf, 0); err != nil { // the page cache survives SIGKILL
			return err
		}
	}
	return nil
}

func openApp(path string) *sql.DB {
	db, _ := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(wal)&_pragma=busy_timeout(5000)")
	db.SetMaxOpenConns(1)
	return db
}
