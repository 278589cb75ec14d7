package replicate

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/benbjohnson/litestream"
	"github.com/superfly/ltx"
)

// Status is what a running Replication last saw: for an app's /up
// handler, its logs and its tests.
type Status struct {
	DB      string // the database file
	Replica string // the target, as Replica.String
	// Position is the newest transaction shipped to the replica, and
	// Local the newest one Litestream has read from the database.
	Position, Local uint64
	// LastSync is when a sync with the replica last succeeded.
	LastSync time.Time
	// LastError is the newest failure Litestream logged or a replica
	// write returned, and LastErrorAt when; "" when none.
	LastError   string
	LastErrorAt time.Time
	// Lease is this replicator's hold on the replica's lease.
	Lease LeaseStatus
	// Stopped is true once replication stopped: closed, or lease lost.
	Stopped bool
}

// Failing reports whether the newest event is a failure: an error after
// the last successful sync, or a lost lease.
func (s Status) Failing() bool {
	return s.Lease.State == LeaseLost || (s.LastError != "" && s.LastErrorAt.After(s.LastSync))
}

// String is one line a person reads.
func (s Status) String() string {
	line := fmt.Sprintf("%s -> %s: replica txid %d, local txid %d, last sync %s, lease %s", s.DB, s.Replica, s.Position, s.Local, stamp(s.LastSync), s.Lease.State)
	if s.Failing() {
		line += fmt.Sprintf(", failing since %s: %s", stamp(s.LastErrorAt), s.LastError)
	}
	return line
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}

// Status reports the replication's state now.
func (p *Replication) Status() Status {
	s := Status{DB: p.replica.DB, Replica: p.replica.String(), Position: p.Position(), LastSync: p.db.LastSuccessfulSyncAt()}
	if pos, err := p.db.Pos(); err == nil {
		s.Local = uint64(pos.TXID)
	}
	s.LastError, s.LastErrorAt = p.status.last()
	if p.lease != nil {
		s.Lease = p.lease.status()
	} else {
		s.Lease.State = LeaseUnguarded
	}
	select {
	case <-p.stopped:
		s.Stopped = true
	default:
	}
	return s
}

// Lag is how long committed changes have waited to reach the replica (0
// when the replica holds every one Litestream has read), and why
// replication fails when it does: a lost lease, a stop, or a sync error
// newer than the last successful sync. health/up's Replication check reads it.
func (p *Replication) Lag() (time.Duration, error) {
	s := p.Status()
	switch {
	case s.Lease.State == LeaseLost:
		return 0, p.lease.held()
	case s.Stopped:
		return 0, fmt.Errorf("replicate %s to %s: stopped", s.DB, s.Replica)
	case s.Failing():
		return p.since(s.LastSync), fmt.Errorf("replicate %s to %s: failing since %s: %s", s.DB, s.Replica, stamp(s.LastErrorAt), s.LastError)
	case s.Local > s.Position:
		return p.since(s.LastSync), nil
	}
	return 0, nil
}

// since is how long ago the last sync was, or the start when none was yet.
func (p *Replication) since(lastSync time.Time) time.Duration {
	if lastSync.Before(p.started) {
		return time.Since(p.started)
	}
	return time.Since(lastSync)
}

// syncStatus records failures for Status.
type syncStatus struct {
	mu    sync.Mutex
	err   string
	errAt time.Time
}

func (s *syncStatus) fail(msg string) {
	s.mu.Lock()
	s.err, s.errAt = msg, time.Now()
	s.mu.Unlock()
}

func (s *syncStatus) last() (string, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err, s.errAt
}

// errorRecorder passes Litestream's log on and records its errors, so a
// failing sync shows in Status and Lag and not only in a log.
type errorRecorder struct {
	slog.Handler
	status *syncStatus
}

func (h *errorRecorder) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError {
		msg := r.Message
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "error" || a.Key == "err" {
				msg += ": " + a.Value.String()
			}
			return true
		})
		h.status.fail(msg)
	}
	if !h.Handler.Enabled(ctx, r.Level) {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

// Enabled is true for errors whatever the handler's level, so they are
// always recorded.
func (h *errorRecorder) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelError || h.Handler.Enabled(ctx, l)
}

func (h *errorRecorder) WithAttrs(as []slog.Attr) slog.Handler {
	return &errorRecorder{Handler: h.Handler.WithAttrs(as), status: h.status}
}

func (h *errorRecorder) WithGroup(name string) slog.Handler {
	return &errorRecorder{Handler: h.Handler.WithGroup(name), status: h.status}
}

// guardedClient is the replica client Litestream replicates through: no
// write or delete reaches the replica unless the lease counts as held,
// and every failed write is recorded.
type guardedClient struct {
	litestream.ReplicaClient
	lease  *lease // nil when unguarded
	status *syncStatus
}

func (c *guardedClient) guard() error {
	if c.lease == nil {
		return nil
	}
	return c.lease.held()
}

func (c *guardedClient) WriteLTXFile(ctx context.Context, level int, minTXID, maxTXID ltx.TXID, r io.Reader) (*ltx.FileInfo, error) {
	if err := c.guard(); err != nil {
		return nil, err
	}
	info, err := c.ReplicaClient.WriteLTXFile(ctx, level, minTXID, maxTXID, r)
	if err != nil {
		c.status.fail(fmt.Sprintf("write %s: %v", ltx.FormatFilename(minTXID, maxTXID), err))
	}
	return info, err
}

func (c *guardedClient) DeleteLTXFiles(ctx context.Context, a []*ltx.FileInfo) error {
	if err := c.guard(); err != nil {
		return err
	}
	return c.ReplicaClient.DeleteLTXFiles(ctx, a)
}

func (c *guardedClient) DeleteAll(ctx context.Context) error {
	if err := c.guard(); err != nil {
		return err
	}
	return c.ReplicaClient.DeleteAll(ctx)
}
