package replicate_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/slipwayhq/slipway/replicate"
)

// Every replicator holds its replica's lease: a second one on the same
// replica is refused, names the holder and writes nothing; after Close
// the next one takes the lease at once.
func ExampleStartWith() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	r := replicate.Replica{DB: filepath.Join(dir, "app.db")}
	db := openApp(r.DB)
	defer db.Close()
	db.Exec("CREATE TABLE users (id INTEGER PRIMARY KEY)")

	log := slog.New(slog.DiscardHandler) // an app passes its own logger
	first, err := replicate.StartWith(ctx, r, replicate.StartOptions{Owner: "web-1", Logger: log})
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = replicate.StartWith(ctx, r, replicate.StartOptions{Owner: "web-2", Logger: log, LeaseWait: -1})
	var held *replicate.LeaseHeldError
	if errors.As(err, &held) {
		fmt.Println("refused:", errors.Is(err, replicate.ErrLeaseHeld), "holder:", held.Owner)
	}
	fmt.Println("first:", first.Status().Lease.State)
	first.Close(ctx)

	next, err := replicate.StartWith(ctx, r, replicate.StartOptions{Owner: "web-2", Logger: log, LeaseWait: -1})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer next.Close(ctx)
	next.Sync(ctx)
	lag, err := next.Lag()
	fmt.Println("next:", next.Status().Lease.State, lag, err)
	// Output:
	// refused: true holder: web-1
	// first: held
	// next: held 0s <nil>
}

// CompareLive is the pure half of a live verify: the replica's newest
// position against the database's own, read on its host.
func ExampleCompareLive() {
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	replica := replicate.Freshness{Replica: "s3://app-litestream/app.db", Newest: replicate.Position{TXID: 52, Time: t0}}

	fmt.Println(replicate.CompareLive(replica, replicate.Live{TXID: 52, Captured: t0, Written: t0.Add(time.Second)}, time.Minute))
	_, err := replicate.CompareLive(replica, replicate.Live{TXID: 52, Captured: t0, Written: t0.Add(5 * time.Minute)}, time.Minute)
	fmt.Println(errors.Is(err, replicate.ErrBehind))
	// Output:
	// replica at txid 52, host at txid 52, 1s behind the host's newest write <nil>
	// true
}

// ReadLive reads a database's own position beside the file, without
// opening it: what VerifyDatabases runs on the database's host.
func ExampleReadLive() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	r := replicate.Replica{DB: filepath.Join(dir, "app.db")}
	db := openApp(r.DB)
	defer db.Close()
	db.Exec("CREATE TABLE users (id INTEGER PRIMARY KEY)")
	rep, err := replicate.StartWith(ctx, r, replicate.StartOptions{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Println(err)
		return
	}
	db.Exec("INSERT INTO users DEFAULT VALUES")
	rep.Close(ctx)

	live, err := replicate.ReadLive(r.DB)
	fmt.Println(live.TXID > 0, !live.Captured.IsZero(), err)
	f, _ := replicate.Verify(ctx, r, time.Hour)
	_, err = replicate.CompareLive(f, live, time.Minute)
	fmt.Println(f.Newest.TXID == live.TXID, err)
	// Output:
	// true true <nil>
	// true <nil>
}
