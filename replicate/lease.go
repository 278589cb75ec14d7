package replicate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/benbjohnson/litestream"
	lss3 "github.com/benbjohnson/litestream/s3"
)

// Lease defaults. Every replicator Slipway starts holds its replica's
// lease, so that no two processes ever write one replica path.
const (
	// DefaultLeaseTTL is how long a lease lasts without renewal, which is
	// how long a crashed holder keeps a replica from a new replicator.
	// The holder renews every third of it.
	DefaultLeaseTTL = lss3.DefaultLeaseTTL
	// DefaultLeaseWait is how long Start waits for a held lease to be
	// released or to expire before refusing: a deploy stops the old
	// replicator (which releases at once) right before starting the new
	// one, and a holder that crashed lets its lease expire after
	// DefaultLeaseTTL, so the default covers both with a margin.
	DefaultLeaseWait = DefaultLeaseTTL + 5*time.Second
	// LeaseFile is the lease object's name inside the replica path: S3
	// key <path>/lock.json, or file <dir>/lock.json for a directory.
	LeaseFile = lss3.DefaultLeasePath
	// OwnerEnv, when set, names this replicator in its lease (for
	// example "hello-litestream on web-1"); the default is the host
	// name (a container's ID inside a container) and the process ID.
	OwnerEnv = "SLIPWAY_LEASE_OWNER"
)

// Lease errors callers branch on.
var (
	// ErrLeaseHeld means another replicator holds the replica's lease:
	// Start refused and wrote nothing to the replica. The error is a
	// *LeaseHeldError naming the holder.
	ErrLeaseHeld = errors.New("replica lease held by another replicator")
	// ErrLeaseLost means a running replicator could not renew its lease
	// and stopped writing to the replica.
	ErrLeaseLost = errors.New("replica lease lost")
	// ErrNoConditionalWrites means the S3 server ignores or rejects
	// conditional writes (If-None-Match, If-Match), so a lease cannot
	// keep a second replicator out. Start refuses unless the Replica is
	// Unguarded.
	ErrNoConditionalWrites = errors.New("S3 server does not honour conditional writes")
)

// LeaseHeldError is ErrLeaseHeld with the holder: who it is and when its
// lease expires unless renewed.
type LeaseHeldError struct {
	Replica   string        // the target, as Replica.String
	Owner     string        // the holder, as it named itself
	ExpiresAt time.Time     // when its lease expires unless renewed
	Waited    time.Duration // how long Start waited for it
}

func (e *LeaseHeldError) Error() string {
	owner := e.Owner
	if owner == "" {
		owner = "an unnamed replicator"
	}
	return fmt.Sprintf("replicate to %s: %v: %s holds it until %s (waited %s); stop that replicator first, or, if it is gone, start again after its lease expires",
		e.Replica, ErrLeaseHeld, owner, e.ExpiresAt.UTC().Format(time.RFC3339), e.Waited.Round(time.Second))
}

// Unwrap makes errors.Is(err, ErrLeaseHeld) true.
func (e *LeaseHeldError) Unwrap() error { return ErrLeaseHeld }

// LeaseState is where a replicator stands with its replica's lease.
type LeaseState int

// The lease states.
const (
	// LeaseNone means no lease was taken yet, or replication was closed.
	LeaseNone LeaseState = iota
	// LeaseHeld means this replicator holds the lease and renews it.
	LeaseHeld
	// LeaseLost means renewal failed and replication stopped.
	LeaseLost
	// LeaseReleased means Close released the lease.
	LeaseReleased
	// LeaseUnguarded means the Replica is Unguarded: no lease is taken.
	LeaseUnguarded
)

// String returns "none", "held", "lost", "released" or "unguarded".
func (s LeaseState) String() string {
	switch s {
	case LeaseHeld:
		return "held"
	case LeaseLost:
		return "lost"
	case LeaseReleased:
		return "released"
	case LeaseUnguarded:
		return "unguarded"
	}
	return "none"
}

// LeaseStatus is a replicator's lease as it last saw it.
type LeaseStatus struct {
	State     LeaseState
	Owner     string    // this replicator's name in the lease
	ExpiresAt time.Time // when the held lease expires unless renewed
	Renewed   time.Time // the last successful acquire or renewal
}

// DefaultOwner names this process in a lease: $SLIPWAY_LEASE_OWNER when
// set; else, in a container Slipway started, its name
// ($SLIPWAY_CONTAINER, such as hello-web-v42) and ID; else the host name
// (inside a container, its ID, as docker ps shows it); and the process
// ID.
func DefaultOwner() string {
	pid := os.Getpid()
	if v := os.Getenv(OwnerEnv); v != "" {
		return fmt.Sprintf("%s (pid %d)", v, pid)
	}
	host, _ := os.Hostname()
	if name := os.Getenv("SLIPWAY_CONTAINER"); name != "" {
		return fmt.Sprintf("container %s (%s) pid %d", name, host, pid)
	}
	if _, err := os.Stat("/.dockerenv"); err == nil {
		return fmt.Sprintf("container %s pid %d", host, pid)
	}
	return fmt.Sprintf("host %s pid %d", host, pid)
}

// leaseOptions are the lease settings of one replicator.
type leaseOptions struct {
	owner string
	ttl   time.Duration
	wait  time.Duration // < 0: do not wait
	log   *slog.Logger
}

// leaser makes the Litestream leaser of r's target: Litestream's S3
// leaser on lock.json beside the replica, with the probe that proves the
// server honours conditional writes, or dirLeaser for a directory (which
// needs no probe).
func (r Replica) leaser(ctx context.Context, o leaseOptions) (litestream.Leaser, func(context.Context, *litestream.Lease) error, error) {
	if r.S3 == nil {
		return &dirLeaser{path: filepath.Join(r.dir(), LeaseFile), owner: o.owner, ttl: o.ttl}, nil, nil
	}
	api, err := r.S3.api(ctx, r)
	if err != nil {
		return nil, nil, err
	}
	l := lss3.NewLeaser()
	l.SetClient(api)
	l.SetLogger(quietLogger())
	l.Bucket, l.Path, l.TTL, l.Owner = r.S3.Bucket, r.S3.path(r.DB), o.ttl, o.owner
	probe := func(ctx context.Context, cur *litestream.Lease) error { return r.S3.probeConditional(ctx, r, api, cur) }
	return l, probe, nil
}

// lease is a held replica lease and the loop that renews it.
type lease struct {
	replica string
	leaser  litestream.Leaser
	opts    leaseOptions
	probe   func(context.Context, *litestream.Lease) error // nil: nothing to probe

	mu      sync.Mutex
	cur     *litestream.Lease
	renewed time.Time
	state   LeaseState
	err     error         // why it was lost
	lost    chan struct{} // closed when the lease is lost
	stop    chan struct{} // closed by release
	done    chan struct{} // closed when the renew loop ended
}

// acquireLease takes r's lease, waiting up to o.wait for a holder to
// release it or for its lease to expire. While another holds it, it only
// reads the lease object. Where conditional writes are not honoured it
// gives the lease back and fails with ErrNoConditionalWrites.
func acquireLease(ctx context.Context, r Replica, o leaseOptions) (*lease, error) {
	leaser, probe, err := r.leaser(ctx, o)
	if err != nil {
		return nil, err
	}
	l := &lease{replica: r.String(), leaser: leaser, probe: probe, opts: o, lost: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	start := time.Now()
	logged := false
	for {
		cur, err := leaser.AcquireLease(ctx)
		if err == nil {
			if l.probe != nil {
				if err := l.probe(ctx, cur); err != nil {
					return nil, err
				}
			}
			l.cur, l.renewed, l.state = cur, time.Now(), LeaseHeld
			o.log.Info("lease acquired", "replica", l.replica, "owner", o.owner, "expires", cur.ExpiresAt.UTC().Format(time.RFC3339), "waited", time.Since(start).Round(time.Millisecond).String())
			go l.renew()
			return l, nil
		}
		var held *litestream.LeaseExistsError
		if !errors.As(err, &held) {
			if r.S3 != nil && notImplemented(err) {
				return nil, noConditional(r, err)
			}
			return nil, fmt.Errorf("replicate to %s: take the lease (%s): %w", l.replica, LeaseFile, err)
		}
		waited := time.Since(start)
		if o.wait <= 0 || waited >= o.wait {
			return nil, &LeaseHeldError{Replica: l.replica, Owner: held.Owner, ExpiresAt: held.ExpiresAt, Waited: waited}
		}
		if !logged {
			o.log.Info("lease held, waiting", "replica", l.replica, "holder", held.Owner, "expires", held.ExpiresAt.UTC().Format(time.RFC3339), "wait", o.wait.String())
			logged = true
		}
		pause := min(time.Second, max(time.Until(held.ExpiresAt), 50*time.Millisecond), o.wait-waited)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("replicate to %s: wait for the lease held by %s: %w", l.replica, held.Owner, ctx.Err())
		case <-time.After(pause):
		}
	}
}

// margin is how long before its expiry a lease stops counting as held:
// it covers clock skew with the next holder and a write in flight.
func (l *lease) margin() time.Duration { return l.opts.ttl / 3 }

// renew renews the lease every third of its TTL until release. A renewal
// that fails is retried every second while the lease still counts as
// held; after that, or at once when another holder took it, the lease is
// lost and lost is closed.
func (l *lease) renew() {
	defer close(l.done)
	every := l.opts.ttl / 3
	next := time.NewTimer(every)
	defer next.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-next.C:
		}
		l.mu.Lock()
		cur := l.cur
		l.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), max(every/2, time.Second))
		fresh, err := l.leaser.RenewLease(ctx, cur)
		cancel()
		l.mu.Lock()
		if err == nil { // kept even when released meanwhile: release needs the newest ETag
			l.cur, l.renewed = fresh, time.Now()
		}
		if l.state != LeaseHeld { // released meanwhile
			l.mu.Unlock()
			return
		}
		if err == nil {
			l.mu.Unlock()
			l.opts.log.Debug("lease renewed", "replica", l.replica, "expires", fresh.ExpiresAt.UTC().Format(time.RFC3339))
			next.Reset(every)
			continue
		}
		if errors.Is(err, litestream.ErrLeaseNotHeld) || time.Now().After(cur.ExpiresAt.Add(-l.margin())) {
			l.state = LeaseLost
			l.err = fmt.Errorf("replicate to %s: %w: renew: %v", l.replica, ErrLeaseLost, err)
			l.mu.Unlock()
			l.opts.log.Error("lease lost, replication stopped", "replica", l.replica, "err", err.Error())
			close(l.lost)
			return
		}
		l.mu.Unlock()
		l.opts.log.Warn("lease renewal failed, retrying", "replica", l.replica, "err", err.Error(), "expires", cur.ExpiresAt.UTC().Format(time.RFC3339))
		next.Reset(time.Second)
	}
}

// held returns nil while the lease counts as held: the guard every write
// to the replica passes.
func (l *lease) held() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.state == LeaseLost:
		return l.err
	case l.state != LeaseHeld:
		return fmt.Errorf("replicate to %s: %w: it was released", l.replica, ErrLeaseLost)
	case time.Now().After(l.cur.ExpiresAt.Add(-l.margin())):
		return fmt.Errorf("replicate to %s: %w: not renewed since %s", l.replica, ErrLeaseLost, l.renewed.UTC().Format(time.RFC3339))
	}
	return nil
}

// status reports the lease for Status.
func (l *lease) status() LeaseStatus {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := LeaseStatus{State: l.state, Owner: l.opts.owner, Renewed: l.renewed}
	if l.cur != nil {
		s.ExpiresAt = l.cur.ExpiresAt
	}
	return s
}

// release stops renewing and gives the lease back, so the next
// replicator takes it at once.
func (l *lease) release(ctx context.Context) error {
	l.mu.Lock()
	wasHeld := l.state == LeaseHeld
	if wasHeld {
		l.state = LeaseReleased
	}
	l.mu.Unlock()
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	<-l.done // no renewal runs from here on
	if !wasHeld {
		return nil
	}
	l.mu.Lock()
	cur := l.cur
	l.mu.Unlock()
	err := l.leaser.ReleaseLease(ctx, cur)
	if err != nil && !errors.Is(err, lss3.ErrLeaseAlreadyReleased) {
		return fmt.Errorf("replicate to %s: release the lease: %w", l.replica, err)
	}
	l.opts.log.Info("lease released", "replica", l.replica)
	return nil
}

// dirLeaser is the lease of a local-directory replica: the file
// <dir>/lock.json, created with O_EXCL, holding the owner, the expiry and
// a token only the holder knows. An expired lock is moved aside (rename
// is atomic, so one taker wins) before a new one is created. Renewal
// rewrites the file through a rename after checking the token.
type dirLeaser struct {
	path  string
	owner string
	ttl   time.Duration
}

var _ litestream.Leaser = (*dirLeaser)(nil)

type dirLock struct {
	Generation int64     `json:"generation"`
	ExpiresAt  time.Time `json:"expires_at"`
	Owner      string    `json:"owner,omitempty"`
	Token      string    `json:"token"`
}

func (d *dirLeaser) Type() string { return "file" }

func (d *dirLeaser) read() (*dirLock, error) {
	b, err := os.ReadFile(d.path)
	if err != nil {
		return nil, err
	}
	var lk dirLock
	if err := json.Unmarshal(b, &lk); err != nil {
		return nil, fmt.Errorf("read %s: %w", d.path, err)
	}
	return &lk, nil
}

func (d *dirLeaser) AcquireLease(ctx context.Context) (*litestream.Lease, error) {
	if err := os.MkdirAll(filepath.Dir(d.path), 0o755); err != nil {
		return nil, err
	}
	for range 3 {
		lk, err := d.read()
		var gen int64 = 1
		switch {
		case err == nil && time.Now().Before(lk.ExpiresAt):
			return nil, &litestream.LeaseExistsError{Owner: lk.Owner, ExpiresAt: lk.ExpiresAt}
		case err == nil:
			gen = lk.Generation + 1
			aside := d.path + ".expired-" + lk.Token
			if err := os.Rename(d.path, aside); err != nil {
				continue // another taker moved it first
			}
			os.Remove(aside)
		case !errors.Is(err, os.ErrNotExist):
			return nil, err
		}
		next := &dirLock{Generation: gen, ExpiresAt: time.Now().Add(d.ttl), Owner: d.owner, Token: token()}
		f, err := os.OpenFile(d.path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		err = json.NewEncoder(f).Encode(next)
		if serr := f.Sync(); err == nil {
			err = serr
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, err
		}
		return &litestream.Lease{Generation: next.Generation, ExpiresAt: next.ExpiresAt, Owner: next.Owner, ETag: next.Token}, nil
	}
	lk, err := d.read()
	if err != nil {
		return nil, err
	}
	return nil, &litestream.LeaseExistsError{Owner: lk.Owner, ExpiresAt: lk.ExpiresAt}
}

func (d *dirLeaser) RenewLease(ctx context.Context, cur *litestream.Lease) (*litestream.Lease, error) {
	lk, err := d.read()
	if errors.Is(err, os.ErrNotExist) || (err == nil && lk.Token != cur.ETag) {
		return nil, litestream.ErrLeaseNotHeld
	}
	if err != nil {
		return nil, err
	}
	next := *lk
	next.ExpiresAt = time.Now().Add(d.ttl)
	b, _ := json.Marshal(next)
	tmp := d.path + ".renew-" + next.Token
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, d.path); err != nil {
		os.Remove(tmp)
		return nil, err
	}
	return &litestream.Lease{Generation: next.Generation, ExpiresAt: next.ExpiresAt, Owner: next.Owner, ETag: next.Token}, nil
}

func (d *dirLeaser) ReleaseLease(ctx context.Context, cur *litestream.Lease) error {
	lk, err := d.read()
	if errors.Is(err, os.ErrNotExist) {
		return lss3.ErrLeaseAlreadyReleased
	}
	if err != nil {
		return err
	}
	if lk.Token != cur.ETag {
		return litestream.ErrLeaseNotHeld
	}
	return os.Remove(d.path)
}

func token() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}
