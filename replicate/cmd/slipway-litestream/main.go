// Command slipway-litestream is Slipway's Litestream sidecar: it
// replicates the databases of a litestream.yml (the one
// replicate.NewSidecar renders) through the same lease-holding code as
// replicate.Start, so a second replicator on a replica path is refused
// and names the holder. It logs one line per event to stdout (lease
// acquired, renewed, lost, released; sync failures), and on SIGTERM or
// SIGINT ships the last changes, releases every lease and exits 0.
//
// Usage:
//
//	slipway-litestream replicate [-config /etc/litestream.yml] [-lease-wait 35s] [-owner NAME]
//	slipway-litestream restore [-config /etc/litestream.yml] [-o OUT] [-if-db-not-exists] [-if-replica-exists] DB
//	slipway-litestream position DB...
//
// replicate exits 1 when a lease is held by another replicator (after
// waiting -lease-wait for it) or cannot be taken, and 3 when a running
// replication loses its lease. restore takes the flags of `litestream
// restore` that replicate.Sidecar.RestoreCmd uses. position prints each
// database's live position (replicate.ReadLive) as a JSON line, reading
// files only, for deploy.Session.VerifyDatabases.
//
// The S3 credentials come from the environment under the names the
// litestream.yml references (${LITESTREAM_ACCESS_KEY_ID} and
// ${LITESTREAM_SECRET_ACCESS_KEY} by default).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/slipwayhq/slipway/replicate"
)

func main() {
	if len(os.Args) < 2 {
		usage(os.Stderr)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "replicate":
		err = replicateCmd(os.Args[2:])
	case "restore":
		err = restoreCmd(os.Args[2:])
	case "position":
		err = positionCmd(os.Args[2:], os.Stdout)
	case "-h", "-help", "--help", "help":
		usage(os.Stdout)
		return
	default:
		usage(os.Stderr)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "slipway-litestream:", err)
		var code exitCode
		if errors.As(err, &code) {
			os.Exit(int(code))
		}
		os.Exit(1)
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: slipway-litestream replicate|restore|position [flags] (see go doc github.com/slipwayhq/slipway/replicate/cmd/slipway-litestream)")
}

// exitCode is an error that exits with a code of its own.
type exitCode int

func (c exitCode) Error() string { return fmt.Sprintf("exit %d", int(c)) }

// lostLease is the exit code of a replication that lost its lease.
const lostLease exitCode = 3

func replicateCmd(args []string) error {
	fs := flag.NewFlagSet("replicate", flag.ContinueOnError)
	config := fs.String("config", replicate.DefaultConfigPath, "the litestream.yml to read")
	wait := fs.Duration("lease-wait", replicate.DefaultLeaseWait, "how long to wait for another holder's lease to be released or expire")
	owner := fs.String("owner", "", "this replicator's name in the lease (default: slipway-litestream in the container, host, pid)")
	ttl := fs.Duration("lease-ttl", 0, "the lease's time to live (default 30s)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	rs, err := readConfig(*config)
	if err != nil {
		return err
	}
	if *owner == "" {
		*owner = "slipway-litestream in " + replicate.DefaultOwner()
	}
	log := slog.New(eventHandler{slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{Level: slog.LevelDebug})})
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	var reps []*replicate.Replication
	closeAll := func() error {
		var errs []error
		for _, rep := range reps {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			if err := rep.Close(ctx); err != nil {
				errs = append(errs, err)
			}
			cancel()
		}
		return errors.Join(errs...)
	}
	for _, r := range rs {
		rep, err := replicate.StartWith(ctx, r, replicate.StartOptions{Logger: log, Owner: *owner, LeaseWait: *wait, LeaseTTL: *ttl})
		if err != nil && ctx.Err() != nil {
			log.Info("stopped before replicating", "db", r.DB)
			return closeAll() // stopped while waiting for the lease: nothing held
		}
		if err != nil {
			log.Error("replication refused", "db", r.DB, "replica", r.String(), "err", err.Error())
			return errors.Join(err, closeAll())
		}
		log.Info("replicating", "db", r.DB, "replica", r.String())
		reps = append(reps, rep)
	}

	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			log.Info("stopping: final sync and lease release")
			if err := closeAll(); err != nil {
				log.Error("stop", "err", err.Error())
				return err
			}
			log.Info("stopped")
			return nil
		case <-tick.C:
		}
		for _, rep := range reps {
			if st := rep.Status(); st.Stopped {
				log.Error("replication stopped", "db", st.DB, "replica", st.Replica, "lease", st.Lease.State.String(), "err", st.LastError)
				closeAll()
				return fmt.Errorf("%s: %s: %w", st.DB, st.LastError, lostLease)
			}
		}
	}
}

// eventHandler writes Slipway's events and Litestream's log at info and
// above; of the debug lines only the lease's (renewals) pass.
type eventHandler struct{ slog.Handler }

func (h eventHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < slog.LevelInfo && !strings.HasPrefix(r.Message, "lease") {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h eventHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return eventHandler{h.Handler.WithAttrs(as)}
}

func (h eventHandler) WithGroup(name string) slog.Handler {
	return eventHandler{h.Handler.WithGroup(name)}
}

func restoreCmd(args []string) error {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	config := fs.String("config", replicate.DefaultConfigPath, "the litestream.yml to read")
	out := fs.String("o", "", "where to write the restored database (default: the database's own path)")
	ifDBNotExists := fs.Bool("if-db-not-exists", false, "do nothing when the output exists")
	ifReplicaExists := fs.Bool("if-replica-exists", false, "do nothing when the replica holds no backup")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("restore: name one database path, as in the config")
	}
	db := fs.Arg(0)
	rs, err := readConfig(*config)
	if err != nil {
		return err
	}
	var r *replicate.Replica
	for i := range rs {
		if rs[i].DB == db {
			r = &rs[i]
		}
	}
	if r == nil {
		return fmt.Errorf("restore: %s is not a database of %s", db, *config)
	}
	dest := *out
	if dest == "" {
		dest = db
	}
	if _, err := os.Stat(dest); err == nil && *ifDBNotExists {
		fmt.Printf("%s exists, nothing restored\n", dest)
		return nil
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	pos, err := replicate.Restore(ctx, *r, dest, time.Time{})
	if errors.Is(err, replicate.ErrNoBackup) && *ifReplicaExists {
		fmt.Printf("%s holds no backup, nothing restored\n", r)
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Printf("restored %s from %s at txid %d (%s)\n", dest, r, pos.TXID, pos.Time.Format(time.RFC3339Nano))
	return nil
}

func positionCmd(args []string, w io.Writer) error {
	if len(args) == 0 {
		return errors.New("position: name one or more database paths")
	}
	enc := json.NewEncoder(w)
	for _, db := range args {
		live, err := replicate.ReadLive(db)
		if err != nil {
			return err
		}
		if err := enc.Encode(live); err != nil {
			return err
		}
	}
	return nil
}
