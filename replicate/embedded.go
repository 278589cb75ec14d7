package replicate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/benbjohnson/litestream"
)

// Replication is a database replicating in this process, started by
// Start. Close it before the process exits to ship the last changes and
// release the replica's lease.
type Replication struct {
	replica Replica
	store   *litestream.Store
	db      *litestream.DB
	lease   *lease // nil when Unguarded
	status  *syncStatus
	started time.Time

	stopOnce sync.Once
	stopErr  error
	stopped  chan struct{} // closed when replication stopped
}

// StartOptions say how Start replicates; the zero value means the
// documented defaults.
type StartOptions struct {
	// Logger receives Litestream's own log and Slipway's events: lease
	// acquired, renewed (debug), lost, released, and sync failures. nil
	// means slog.Default().
	Logger *slog.Logger
	// Owner names this replicator in the replica's lease, so a refused
	// one can say who holds it; "" means DefaultOwner().
	Owner string
	// LeaseTTL is how long the lease lasts without renewal; 0 means
	// DefaultLeaseTTL.
	LeaseTTL time.Duration
	// LeaseWait is how long Start waits for another holder to release
	// the lease or for its lease to expire; 0 means DefaultLeaseWait, a
	// negative value refuses at once.
	LeaseWait time.Duration
}

func (o StartOptions) logger() *slog.Logger {
	if o.Logger != nil {
		return o.Logger
	}
	return slog.Default()
}

// Start replicates r.DB to r's target from inside this process, with the
// Litestream library, so a Go app needs no sidecar; it is StartWith with
// the default options.
func Start(ctx context.Context, r Replica) (*Replication, error) {
	return StartWith(ctx, r, StartOptions{})
}

// StartWith replicates r.DB to r's target from inside this process. It
// first takes the replica's lease (LeaseFile beside the replica), waiting
// up to opts.LeaseWait for a holder to release it or for its lease to
// expire; when another replicator keeps it, StartWith fails with a
// *LeaseHeldError (ErrLeaseHeld) naming the holder, having written
// nothing to the replica. On a server that does not honour conditional
// writes it fails with ErrNoConditionalWrites unless r.Unguarded is set,
// in which case it runs without the lease and logs a warning saying what
// that risks. While it runs it renews the lease every third of its TTL;
// when renewal fails it stops writing to the replica and replicating, and
// Status, Lag and Sync report ErrLeaseLost.
//
// The database is put in WAL mode if it is not already. The app must open
// it with the same driver Litestream uses (modernc.org/sqlite) and must
// not checkpoint it itself; call RestoreIfMissing first to restore on
// boot.
func StartWith(ctx context.Context, r Replica, opts StartOptions) (*Replication, error) {
	log := opts.logger()
	client, err := r.client(ctx)
	if err != nil {
		return nil, err
	}
	p := &Replication{replica: r, status: &syncStatus{}, stopped: make(chan struct{}), started: time.Now()}
	if r.Unguarded {
		log.Warn("replicating UNGUARDED: no lease keeps a second replicator off this replica; two replicators on one path fork it, and a restore then mixes both histories",
			"db", r.DB, "replica", r.String())
	} else {
		lo := leaseOptions{owner: opts.Owner, ttl: orDefault(opts.LeaseTTL, DefaultLeaseTTL), wait: opts.LeaseWait, log: log}
		if lo.owner == "" {
			lo.owner = DefaultOwner()
		}
		if lo.wait == 0 {
			lo.wait = DefaultLeaseWait
		}
		if p.lease, err = acquireLease(ctx, r, lo); err != nil {
			return nil, err
		}
	}

	db := litestream.NewDB(r.DB)
	db.Replica = litestream.NewReplicaWithClient(db, &guardedClient{ReplicaClient: client, lease: p.lease, status: p.status})
	db.Replica.SyncInterval = r.syncInterval()
	store := litestream.NewStore([]*litestream.DB{db}, litestream.DefaultCompactionLevels)
	store.SnapshotInterval = r.snapshotInterval()
	store.SnapshotRetention = r.retention()
	lsLog := slog.New(&errorRecorder{Handler: log.Handler(), status: p.status}).With("db", r.DB)
	store.Logger = lsLog
	db.SetLogger(lsLog)
	if p.lease != nil {
		db.Done = p.lease.lost // a lost lease skips the shutdown sync
	}
	p.store, p.db = store, db
	if err := store.Open(ctx); err != nil {
		err = fmt.Errorf("replicate %s to %s: start: %w", r.DB, r, err)
		if p.lease != nil {
			err = errors.Join(err, p.lease.release(context.WithoutCancel(ctx)))
		}
		return nil, err
	}
	if p.lease != nil {
		go func() {
			select {
			case <-p.lease.lost:
				p.status.fail(p.lease.held().Error())
				p.stop(context.Background())
			case <-p.stopped:
			}
		}()
	}
	return p, nil
}

// stop stops replicating once, and reports why each later time.
func (p *Replication) stop(ctx context.Context) error {
	p.stopOnce.Do(func() {
		if err := p.store.Close(ctx); err != nil && !errors.Is(err, litestream.ErrShutdownInterrupted) {
			p.stopErr = fmt.Errorf("replicate %s to %s: stop: %w", p.replica.DB, p.replica, err)
		}
		close(p.stopped)
	})
	return p.stopErr
}

// Sync ships every committed change to the replica now and returns when
// the replica holds it: a write barrier for tests and for shutdown. It
// fails with ErrLeaseLost once the lease is lost.
func (p *Replication) Sync(ctx context.Context) error {
	if p.lease != nil {
		if err := p.lease.held(); err != nil {
			return err
		}
	}
	if err := p.db.SyncAndWait(ctx); err != nil {
		return fmt.Errorf("replicate %s to %s: sync: %w", p.replica.DB, p.replica, err)
	}
	return nil
}

// Position is the newest transaction shipped to the replica.
func (p *Replication) Position() uint64 { return uint64(p.db.Replica.Pos().TXID) }

// Close ships the last changes, stops replicating and releases the lease,
// so the next replicator takes it at once. After a lost lease it ships
// nothing and returns ErrLeaseLost.
func (p *Replication) Close(ctx context.Context) error {
	var syncErr error
	select {
	case <-p.stopped:
	default:
		syncErr = p.Sync(ctx)
	}
	stopErr := p.stop(ctx)
	var leaseErr error
	if p.lease != nil {
		if err := p.lease.held(); err != nil && p.lease.status().State == LeaseLost && syncErr == nil {
			syncErr = err
		}
		leaseErr = p.lease.release(context.WithoutCancel(ctx))
	}
	return errors.Join(syncErr, stopErr, leaseErr)
}

// RestoreIfMissing restores r.DB from its replica when the file does not
// exist, before the app opens it. It reports whether it restored, and
// does nothing when the file exists or the replica holds no backup yet (a
// first boot).
func RestoreIfMissing(ctx context.Context, r Replica) (bool, error) {
	if _, err := os.Stat(r.DB); err == nil {
		return false, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return false, fmt.Errorf("restore %s: %w", r.DB, err)
	}
	_, err := Restore(ctx, r, r.DB, time.Time{})
	if errors.Is(err, ErrNoBackup) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, nil
}

// Restore writes the replica's newest state, or its state at a point in
// time when at is set, to the new file out, and returns the newest
// position it restored. It fails with ErrNoBackup when the replica is
// empty, and never overwrites or deletes anything: it fails when out
// exists, restores into a private temporary directory beside out and
// links the result into place only while out does not exist, so a
// directory shared with a live database (and that database's
// .<db>-litestream state) is left as it was.
func Restore(ctx context.Context, r Replica, out string, at time.Time) (Position, error) {
	client, err := r.client(ctx)
	if err != nil {
		return Position{}, err
	}
	return restore(ctx, r, client, out, at)
}

func restore(ctx context.Context, r Replica, client litestream.ReplicaClient, out string, at time.Time) (Position, error) {
	if _, err := os.Lstat(out); err == nil {
		return Position{}, fmt.Errorf("restore %s from %s: %w: Restore never overwrites a file; restore to a new path", out, r, os.ErrExist)
	}
	plan, err := litestream.CalcRestorePlan(ctx, client, 0, at, quietLogger())
	if err != nil || len(plan) == 0 {
		if err == nil || errors.Is(err, litestream.ErrTxNotAvailable) || errors.Is(err, litestream.ErrNoSnapshots) {
			return Position{}, fmt.Errorf("restore %s from %s: %w", out, r, ErrNoBackup)
		}
		return Position{}, fmt.Errorf("restore %s from %s: plan: %w", out, r, diagnoseGap(ctx, r, client, err))
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return Position{}, fmt.Errorf("restore %s: %w", out, err)
	}
	// A private directory on out's file system, so the result can be
	// linked into place; Litestream's scratch files stay inside it.
	tmp, err := os.MkdirTemp(filepath.Dir(out), "."+filepath.Base(out)+".restore-")
	if err != nil {
		return Position{}, fmt.Errorf("restore %s: %w", out, err)
	}
	defer os.RemoveAll(tmp)
	staged := filepath.Join(tmp, filepath.Base(out))
	rep := litestream.NewReplicaWithClient(nil, client)
	opt := litestream.NewRestoreOptions()
	opt.OutputPath = staged
	opt.Timestamp = at
	if err := rep.Restore(ctx, opt); err != nil {
		return Position{}, fmt.Errorf("restore %s from %s: %w", out, r, diagnose(ctx, r, client, plan, err))
	}
	// Litestream state left under out's name describes a database that is
	// gone; it is moved aside (kept, never deleted) so a replicator of the
	// restored file starts afresh.
	meta := filepath.Join(filepath.Dir(out), "."+filepath.Base(out)+litestream.MetaDirSuffix)
	if _, err := os.Lstat(meta); err == nil {
		if err := os.Rename(meta, meta+".before-restore-"+time.Now().UTC().Format("20060102T150405.000000000Z")); err != nil {
			return Position{}, fmt.Errorf("restore %s: move aside the old %s: %w", out, meta, err)
		}
	}
	// A hard link fails when out exists: nothing is ever overwritten.
	if err := os.Link(staged, out); err != nil {
		return Position{}, fmt.Errorf("restore %s from %s: put the restored file in place: %w", out, r, err)
	}
	last := plan[len(plan)-1]
	pos := Position{TXID: uint64(last.MaxTXID), Level: last.Level, Object: r.object(last.Level, objectName(last))}
	if hdr, err := litestream.FetchLTXHeader(ctx, client, last); err == nil {
		pos.Time = time.UnixMilli(hdr.Timestamp).UTC()
	}
	return pos, nil
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
