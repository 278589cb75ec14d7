package replicate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/superfly/ltx"
)

// DefaultMaxLag is how far the replica may trail the live database's
// newest write before VerifyLive fails: far above Litestream's
// one-second sync interval and the seconds a checkpoint after a sync
// takes, well below the daily check's age limit.
const DefaultMaxLag = time.Minute

// ErrBehind means writes on the host are not reaching the replica: the
// live database holds changes newer than the replica's newest position,
// or its replicator's local history does not continue the replica's.
var ErrBehind = errors.New("replica is behind the live database")

// Live is a database's own position, read where it is written (on its
// host, beside the file), without opening it: the newest transaction its
// replicator captured from it, and when the file or its WAL last
// changed. Times are the host's clock, as are the replica's (Litestream
// stamps each transaction on the host), so the two compare without the
// operator's clock.
type Live struct {
	DB string `json:"db"`
	// TXID and Captured are the newest transaction Litestream captured
	// locally (its .<db>-litestream state) and when; 0 when it has none.
	TXID     uint64    `json:"txid"`
	Captured time.Time `json:"captured,omitzero"`
	// Written is when the database file or its WAL last changed.
	Written time.Time `json:"written"`
	// WAL is the WAL file's size in bytes.
	WAL int64 `json:"wal"`
}

// ReadLive reads db's live position. It only stats files and reads the
// header of one LTX file of Litestream's local state: it never opens the
// database, so it works on a read-only mount and changes nothing.
func ReadLive(db string) (Live, error) {
	l := Live{DB: db}
	st, err := os.Stat(db)
	if err != nil {
		return l, fmt.Errorf("live position of %s: %w", db, err)
	}
	l.Written = st.ModTime().UTC()
	if wal, err := os.Stat(db + "-wal"); err == nil {
		l.WAL = wal.Size()
		if wal.ModTime().After(l.Written) {
			l.Written = wal.ModTime().UTC()
		}
	}
	dir := TransactionsDir(db)
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return l, fmt.Errorf("live position of %s: %w", db, err)
	}
	newest := ""
	for _, e := range entries {
		if _, hi, err := ltx.ParseFilename(e.Name()); err == nil && uint64(hi) >= l.TXID {
			l.TXID, newest = uint64(hi), e.Name()
		}
	}
	if newest == "" {
		return l, nil
	}
	f, err := os.Open(filepath.Join(dir, newest))
	if err != nil {
		return l, fmt.Errorf("live position of %s: %w", db, err)
	}
	defer f.Close()
	hdr, _, err := ltx.PeekHeader(f)
	if err != nil {
		return l, fmt.Errorf("live position of %s: header of %s: %w", db, newest, err)
	}
	l.Captured = time.UnixMilli(hdr.Timestamp).UTC()
	return l, nil
}

// Newest is the live database's newest change: its last write or its
// newest captured transaction, whichever is later.
func (l Live) Newest() time.Time {
	if l.Captured.After(l.Written) {
		return l.Captured
	}
	return l.Written
}

// Gap is how far a replica trails its live database.
type Gap struct {
	ReplicaTXID uint64        // the replica's newest transaction
	LiveTXID    uint64        // the newest one captured on the host
	Behind      time.Duration // the live database's newest change minus the replica's newest transaction's time
}

// String is one line a person reads.
func (g Gap) String() string {
	return fmt.Sprintf("replica at txid %d, host at txid %d, %s behind the host's newest write", g.ReplicaTXID, g.LiveTXID, g.Behind.Round(time.Millisecond))
}

// CompareLive compares a replica's newest position (from Verify) with
// its live database's (from ReadLive on the host). It fails with
// ErrBehind, naming the gap, when the host's replicator has captured
// transactions the replica lacks, or the database was written, more than
// maxLag (0 means DefaultMaxLag) after the replica's newest transaction,
// or when the host's local history is behind the replica's (the
// replicator's state was reset and it no longer continues the replica).
// It is pure: both positions are read elsewhere.
func CompareLive(f Freshness, live Live, maxLag time.Duration) (Gap, error) {
	maxLag = orDefault(maxLag, DefaultMaxLag)
	g := Gap{ReplicaTXID: f.Newest.TXID, LiveTXID: live.TXID, Behind: max(live.Newest().Sub(f.Newest.Time), 0)}
	switch {
	case live.TXID != 0 && live.TXID < f.Newest.TXID:
		return g, fmt.Errorf("%s: %w: the host's replicator is at txid %d but the replica at txid %d: its local state was reset or moved aside and it does not continue the replica (writes since %s are not replicated); restart the replicator so it resumes from the replica",
			f.Replica, ErrBehind, live.TXID, f.Newest.TXID, f.Newest.Time.Format(time.RFC3339))
	case g.Behind > maxLag && live.TXID > f.Newest.TXID:
		return g, fmt.Errorf("%s: %w: the host captured txids %d..%d that the replica lacks; the replica's newest (txid %d) is %s older than the host's newest write (max %s); check the replicator's log and its access to the bucket",
			f.Replica, ErrBehind, f.Newest.TXID+1, live.TXID, f.Newest.TXID, g.Behind.Round(time.Second), maxLag)
	case g.Behind > maxLag:
		return g, fmt.Errorf("%s: %w: the database on the host was written at %s, %s after the replica's newest transaction (txid %d at %s, max %s), and no replicator captured those writes (host txid %d); check that the replicator runs",
			f.Replica, ErrBehind, live.Written.Format(time.RFC3339), g.Behind.Round(time.Second), f.Newest.TXID, f.Newest.Time.Format(time.RFC3339), maxLag, live.TXID)
	}
	return g, nil
}

// VerifyLive is Verify followed by CompareLive: the replica must be
// fresh and must hold what the host's live database has.
func VerifyLive(ctx context.Context, r Replica, live Live, maxAge, maxLag time.Duration) (Freshness, Gap, error) {
	f, err := Verify(ctx, r, maxAge)
	if err != nil && !errors.Is(err, ErrStale) {
		return f, Gap{}, err
	}
	g, gerr := CompareLive(f, live, maxLag)
	return f, g, errors.Join(gerr, err)
}
