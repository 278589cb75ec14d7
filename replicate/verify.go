package replicate

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/benbjohnson/litestream"
	"github.com/superfly/ltx"
)

// DefaultMaxAge is how old a replica's newest position may be before
// Verify fails with ErrStale when no limit is given; it is also the
// default of deploy.Session.VerifyDatabases and `mage replica:verify`,
// so the library and the daily target agree.
//
// It is a day, on purpose: the posture checks daily that new replica
// objects arrive, and the age grows while an app is idle (Litestream
// ships nothing without writes, and its compactions keep the last
// write's time), so an hour failed every app that sleeps at night.
// Writes that stop reaching the replica are caught far sooner by
// CompareLive, which compares with the live database (DefaultMaxLag).
const DefaultMaxAge = 24 * time.Hour

// Position is a point in a replica's history: a transaction and when it
// was written, in the millisecond timestamp Litestream stores in each
// LTX file's header (not the object store's one-second LastModified).
type Position struct {
	TXID   uint64    // the transaction ID Litestream assigned
	Time   time.Time // when it was written, to the millisecond
	Level  int       // the compaction level of the object holding it
	Object string    // that object, as a URL without credentials
}

// Freshness is what Verify found.
type Freshness struct {
	Replica string // the target, as Replica.String
	Newest  Position
	Age     time.Duration // now minus Newest.Time
	MaxAge  time.Duration // the threshold applied
	Objects int           // LTX objects the replica holds across levels
}

// String is one line a person reads.
func (f Freshness) String() string {
	return fmt.Sprintf("%s: newest txid %d at %s, %s old (max %s), %d objects",
		f.Replica, f.Newest.TXID, f.Newest.Time.Format(time.RFC3339Nano), f.Age.Round(time.Millisecond), f.MaxAge, f.Objects)
}

// Verify reads the replica's newest replicated position and its age, the
// daily check. It fails with ErrStale when the age passes maxAge (0 means
// DefaultMaxAge) and with ErrNoBackup when the replica is empty; the
// Freshness is filled in either way as far as it was read.
func Verify(ctx context.Context, r Replica, maxAge time.Duration) (Freshness, error) {
	f := Freshness{Replica: r.String(), MaxAge: orDefault(maxAge, DefaultMaxAge)}
	client, err := r.client(ctx)
	if err != nil {
		return f, err
	}
	newest, n, err := newestFile(ctx, client)
	f.Objects = n
	if err != nil {
		return f, fmt.Errorf("verify %s: %w", r, err)
	}
	if newest == nil {
		return f, fmt.Errorf("verify %s: %w", r, ErrNoBackup)
	}
	hdr, err := litestream.FetchLTXHeader(ctx, client, newest)
	if err != nil {
		return f, fmt.Errorf("verify %s: read header of %s: %w", r, r.object(newest.Level, objectName(newest)), err)
	}
	f.Newest = Position{TXID: uint64(newest.MaxTXID), Time: time.UnixMilli(hdr.Timestamp).UTC(), Level: newest.Level, Object: r.object(newest.Level, objectName(newest))}
	f.Age = time.Since(f.Newest.Time)
	if f.Age > f.MaxAge {
		return f, fmt.Errorf("verify %s: %w: newest transaction %d was written %s ago, more than %s; check that the app or its Litestream sidecar runs and can reach the bucket",
			r, ErrStale, f.Newest.TXID, f.Age.Round(time.Second), f.MaxAge)
	}
	return f, nil
}

// newestFile finds the LTX file holding the highest transaction across
// every level, and counts the files.
func newestFile(ctx context.Context, client litestream.ReplicaClient) (*ltx.FileInfo, int, error) {
	var newest *ltx.FileInfo
	n := 0
	for level := 0; level <= litestream.SnapshotLevel; level++ {
		itr, err := client.LTXFiles(ctx, level, 0, false)
		if err != nil {
			return nil, n, fmt.Errorf("list level %d: %w", level, err)
		}
		for itr.Next() {
			info := itr.Item()
			n++
			if newest == nil || info.MaxTXID > newest.MaxTXID || (info.MaxTXID == newest.MaxTXID && info.Level < newest.Level) {
				newest = info
			}
		}
		err = itr.Err()
		if cerr := itr.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, n, fmt.Errorf("list level %d: %w", level, err)
		}
	}
	return newest, n, nil
}

func objectName(info *ltx.FileInfo) string { return ltx.FormatFilename(info.MinTXID, info.MaxTXID) }

// checkObject reads one replica object through and verifies its
// checksums, so a drill that fails can name the object at fault.
func checkObject(ctx context.Context, client litestream.ReplicaClient, info *ltx.FileInfo) error {
	rc, err := client.OpenLTXFile(ctx, info.Level, info.MinTXID, info.MaxTXID, 0, 0)
	if err != nil {
		return err
	}
	defer rc.Close()
	dec := ltx.NewDecoder(rc)
	if err := dec.Verify(); err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, rc)
	return err
}

// diagnose explains a failed restore by the first object of the plan
// that is missing or does not verify; it returns cause when all do.
func diagnose(ctx context.Context, r Replica, client litestream.ReplicaClient, plan []*ltx.FileInfo, cause error) error {
	for _, info := range plan {
		if err := checkObject(ctx, client, info); err != nil {
			return fmt.Errorf("replica object %s is missing or corrupt: %v (restore failed: %w)", r.object(info.Level, objectName(info)), err, cause)
		}
	}
	return cause
}

// diagnoseGap explains a restore plan that cannot be made by the first
// hole in a level's sequence of transactions: the object that would cover
// it is missing. It returns cause when no level has a hole.
func diagnoseGap(ctx context.Context, r Replica, client litestream.ReplicaClient, cause error) error {
	for level := 0; level <= litestream.SnapshotLevel; level++ {
		infos, err := litestream.FindLTXFiles(ctx, client, level, false, func(*ltx.FileInfo) (bool, error) { return true, nil })
		if err != nil {
			return cause
		}
		for i := 1; i < len(infos); i++ {
			if prev, next := infos[i-1], infos[i]; next.MinTXID > prev.MaxTXID+1 {
				missing := ltx.FormatFilename(prev.MaxTXID+1, next.MinTXID-1)
				return fmt.Errorf("replica object %s is missing (transactions %d..%d; found %s and %s around it): %w",
					r.object(level, missing), prev.MaxTXID+1, next.MinTXID-1, objectName(prev), objectName(next), cause)
			}
		}
	}
	return cause
}
