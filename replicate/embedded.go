package replicate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/benbjohnson/litestream"
)

// Replication is a database replicating in this process, started by
// Start. Close it before the process exits to ship the last changes.
type Replication struct {
	replica Replica
	store   *litestream.Store
	db      *litestream.DB
}

// Start replicates r.DB to r's target from inside this process, with the
// Litestream library, so a Go app needs no sidecar. The database is put in
// WAL mode if it is not already. The app must open it with the same
// driver Litestream uses (modernc.org/sqlite) and must not checkpoint it
// itself; call RestoreIfMissing first to restore on boot.
func Start(ctx context.Context, r Replica) (*Replication, error) {
	client, err := r.client(ctx)
	if err != nil {
		return nil, err
	}
	db := litestream.NewDB(r.DB)
	db.Replica = litestream.NewReplicaWithClient(db, client)
	db.Replica.SyncInterval = r.syncInterval()
	store := litestream.NewStore([]*litestream.DB{db}, litestream.DefaultCompactionLevels)
	store.SnapshotInterval = r.snapshotInterval()
	store.SnapshotRetention = r.retention()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	store.Logger = quiet
	db.SetLogger(quiet)
	if err := store.Open(ctx); err != nil {
		return nil, fmt.Errorf("replicate %s to %s: start: %w", r.DB, r, err)
	}
	return &Replication{replica: r, store: store, db: db}, nil
}

// Sync ships every committed change to the replica now and returns when
// the replica holds it: a write barrier for tests and for shutdown.
func (p *Replication) Sync(ctx context.Context) error {
	if err := p.db.SyncAndWait(ctx); err != nil {
		return fmt.Errorf("replicate %s to %s: sync: %w", p.replica.DB, p.replica, err)
	}
	return nil
}

// Position is the newest transaction shipped to the replica.
func (p *Replication) Position() uint64 { return uint64(p.db.Replica.Pos().TXID) }

// Close ships the last changes and stops replicating.
func (p *Replication) Close(ctx context.Context) error {
	syncErr := p.Sync(ctx)
	if err := p.store.Close(ctx); err != nil {
		return fmt.Errorf("replicate %s to %s: stop: %w", p.replica.DB, p.replica, err)
	}
	return syncErr
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
// empty, and never overwrites out.
func Restore(ctx context.Context, r Replica, out string, at time.Time) (Position, error) {
	client, err := r.client(ctx)
	if err != nil {
		return Position{}, err
	}
	return restore(ctx, r, client, out, at)
}

func restore(ctx context.Context, r Replica, client litestream.ReplicaClient, out string, at time.Time) (Position, error) {
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
	// A meta directory left by an earlier database of that name describes
	// a history that is gone; Litestream starts a fresh one.
	os.RemoveAll(filepath.Join(filepath.Dir(out), "."+filepath.Base(out)+litestream.MetaDirSuffix))
	rep := litestream.NewReplicaWithClient(nil, client)
	opt := litestream.NewRestoreOptions()
	opt.OutputPath = out
	opt.Timestamp = at
	if err := rep.Restore(ctx, opt); err != nil {
		return Position{}, fmt.Errorf("restore %s from %s: %w", out, r, diagnose(ctx, r, client, plan, err))
	}
	last := plan[len(plan)-1]
	pos := Position{TXID: uint64(last.MaxTXID), Level: last.Level, Object: r.object(last.Level, objectName(last))}
	if hdr, err := litestream.FetchLTXHeader(ctx, client, last); err == nil {
		pos.Time = time.UnixMilli(hdr.Timestamp).UTC()
	}
	return pos, nil
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
