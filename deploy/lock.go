package deploy

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/deploy/ssh"
)

// ErrLocked means another deploy holds the app's lock.
var ErrLocked = errors.New("deploy lock is held")

// LockInfo says who holds an app's deploy lock, since when, and why.
type LockInfo struct {
	Performer   string    `json:"performer"`
	Time        time.Time `json:"time"`
	Version     string    `json:"version,omitempty"`
	Message     string    `json:"message,omitempty"`
	Destination string    `json:"destination,omitempty"`
	// ID tells one taking of the lock from another, so that a deploy
	// releases only the lock it took.
	ID string `json:"id,omitempty"`
	// Incomplete marks a lock that exists but names no holder: one left
	// half-written by an older Slipway that was interrupted while taking
	// it. Time is then when it was made. Nothing releases it but a
	// forced release (BreakLock, lock:release -force).
	Incomplete bool `json:"-"`
}

// Age is how long the lock has been held, as of now.
func (l LockInfo) Age() time.Duration { return time.Since(l.Time).Round(time.Second) }

// String names the holder and the lock's age, such as
// "alice@laptop since 2026-01-02T10:00:00Z (3 minutes ago), deploying v4".
func (l LockInfo) String() string {
	since := fmt.Sprintf("since %s (%s)", l.Time.UTC().Format(time.RFC3339), ago(l.Time, time.Now()))
	if l.Incomplete {
		return "a half-written lock that names no holder, made " + since
	}
	msg := l.Performer + " " + since
	if l.Version != "" {
		msg += ", deploying " + l.Version
	}
	if l.Message != "" {
		msg += fmt.Sprintf(": %q", l.Message)
	}
	return msg
}

// LockedError is returned when the lock is held; it names the holder.
type LockedError struct {
	Host string
	Info LockInfo
}

// Error names the holder, since when, and what to do.
func (e *LockedError) Error() string {
	if e.Info.Incomplete {
		return fmt.Sprintf("%v on %s: %s (an interrupted lock from an older Slipway). No deploy holds it: break it with lock:release -force",
			ErrLocked, e.Host, e.Info)
	}
	return fmt.Sprintf("%v on %s by %s. Wait for it to finish, or, if no deploy is running, break it with lock:release -force",
		ErrLocked, e.Host, e.Info)
}

// Unwrap makes errors.Is(err, ErrLocked) hold.
func (e *LockedError) Unwrap() error { return ErrLocked }

// StaleLockError is a deploy lock that could not be released after the
// operation that took it ended, typically because its host stayed
// unreachable. The lock stays held by Info until someone breaks it.
type StaleLockError struct {
	Host string
	Info LockInfo
	Err  error // why it could not be released
}

// Error names the holder, the lock's age, the cause and the fix.
func (e *StaleLockError) Error() string {
	return fmt.Sprintf("the deploy lock on %s stays held by %s: releasing it failed: %v. Once no deploy runs, break it with lock:release -force",
		e.Host, e.Info, e.Err)
}

// Unwrap returns the cause of the failed release.
func (e *StaleLockError) Unwrap() error { return e.Err }

// lockPath is the lock file, relative to the SSH user's home on the
// primary host. Older Slipways made it a directory holding details.json;
// such a lock is still read, and broken by BreakLock.
func (s *Session) lockPath() string {
	return ".slipway/locks/" + ProxyService(s.app, "lock")
}

// exitLocked is the lock script's exit code for "held by someone else".
const exitLocked = 75

// lockStatusScript prints "held <mtime>" and the lock's details when
// the lock exists, and nothing when it is free.
func lockStatusScript(path string) string {
	q := ssh.Quote(path)
	return fmt.Sprintf(`if [ -e %[1]s ]; then f=%[1]s; [ -d %[1]s ] && f=%[1]s/details.json; echo "held $(stat -c %%Y %[1]s 2>/dev/null || echo 0)"; cat "$f" 2>/dev/null || true; fi`, q)
}

// parseLockStatus reads what lockStatusScript printed: nil when free.
func parseLockStatus(out []byte) *LockInfo {
	head, body, _ := bytes.Cut(out, []byte("\n"))
	mtime, ok := strings.CutPrefix(strings.TrimSpace(string(head)), "held ")
	if !ok {
		return nil
	}
	var info LockInfo
	if err := json.Unmarshal(bytes.TrimSpace(body), &info); err != nil || info.Performer == "" {
		secs, _ := strconv.ParseInt(mtime, 10, 64)
		return &LockInfo{Incomplete: true, Time: time.Unix(secs, 0).UTC()}
	}
	return &info
}

// Lock takes the app's deploy lock on the primary host, waiting up to
// Options.LockWait for a held one. Taking it is atomic: the details are
// written to a file of their own and then linked into place, so the
// lock never exists without its holder, even when the connection drops
// halfway. A held lock returns a *LockedError naming its holder.
func (s *Session) Lock(ctx context.Context, version string) (err error) {
	defer s.redactErr(&err)
	host := s.hosts[s.app.PrimaryHost()]
	id := make([]byte, 8)
	rand.Read(id)
	info := LockInfo{Performer: s.performer, Time: time.Now().UTC(), Version: version,
		Message: s.opts.Message, Destination: s.app.Destination, ID: hex.EncodeToString(id)}
	body, err := json.Marshal(info)
	if err != nil {
		return err
	}
	path := ssh.Quote(s.lockPath())
	script := fmt.Sprintf(`set -e; mkdir -p .slipway/locks; tmp=$(mktemp .slipway/locks/.lock.XXXXXX); cat > "$tmp"; `+
		`if ln -T "$tmp" %s 2>/dev/null; then rm -f "$tmp"; %s; exit 0; fi; rm -f "$tmp"; %s; exit %d`,
		path, keyScript(s.keyPath(), true), lockStatusScript(s.lockPath()), exitLocked)
	deadline := time.Now().Add(s.opts.LockWait)
	for {
		var res ssh.Result
		err := s.call(ctx, host.name, "the lock command", s.opts.callTimeout(), func(ctx context.Context) error {
			var err error
			res, err = host.ssh.Run(ctx, script, bytes.NewReader(body))
			return err
		})
		if err == nil {
			key, kerr := parseKey(res.Stdout)
			s.mu.Lock()
			s.held = &info
			s.key = key
			s.mu.Unlock()
			if kerr != nil {
				return fmt.Errorf("read the fingerprint key on %s: %w", host.name, kerr)
			}
			return nil
		}
		var exit *ssh.ExitError
		if !errors.As(err, &exit) || exit.ExitCode != exitLocked {
			return fmt.Errorf("take the deploy lock on %s: %w", host.name, err)
		}
		held := &LockedError{Host: host.name}
		if i := parseLockStatus(res.Stdout); i != nil {
			held.Info = *i
		}
		if time.Now().After(deadline) {
			return held
		}
		select {
		case <-ctx.Done():
			return held
		case <-time.After(time.Second):
		}
	}
}

// Unlock releases the app's deploy lock when it is this session's (taken
// by its Lock) or, for a session that took none, when it is held by the
// same performer, as with lock:acquire then lock:release by one person.
// A lock held by anyone else is left in place and a *LockedError naming
// the holder is returned: break it with BreakLock once you know no
// deploy runs. A free lock is not an error.
func (s *Session) Unlock(ctx context.Context) (err error) {
	defer s.redactErr(&err)
	host := s.hosts[s.app.PrimaryHost()]
	mine := s.heldLock().ID
	if mine != "" {
		return s.unlockMine(ctx, host, mine)
	}
	info, err := s.LockStatus(ctx)
	if err != nil {
		return fmt.Errorf("release the deploy lock on %s: %w", host.name, err)
	}
	switch {
	case info == nil:
		s.forget(mine)
		return nil
	case info.Incomplete, info.Performer != s.performer: // a session that took none releases its performer's
		return &LockedError{Host: host.name, Info: *info}
	}
	// Remove it only if it is still the one read above.
	path := ssh.Quote(s.lockPath())
	script := fmt.Sprintf("if grep -qF %s %s 2>/dev/null; then rm -f %s; fi", ssh.Quote(`"id":"`+info.ID+`"`), path, path)
	if info.ID == "" { // a lock of an older Slipway, taken by this performer
		script = "rm -rf " + path
	}
	if err := s.call(ctx, host.name, "the unlock command", s.opts.callTimeout(), func(ctx context.Context) error {
		_, err := host.ssh.Run(ctx, script, nil)
		return err
	}); err != nil {
		return fmt.Errorf("release the deploy lock on %s: %w", host.name, err)
	}
	s.forget(mine)
	return nil
}

// unlockMine releases the lock id this session took, in one command:
// it removes the lock when it is still id's, and otherwise prints what
// holds it (a lock broken and taken by someone else since), which is
// left in place and returned as a *LockedError. A free lock is not an
// error.
func (s *Session) unlockMine(ctx context.Context, host *hostConn, id string) error {
	path := ssh.Quote(s.lockPath())
	script := fmt.Sprintf("if grep -qF %s %s 2>/dev/null; then rm -f %s; exit 0; fi; %s",
		ssh.Quote(`"id":"`+id+`"`), path, path, lockStatusScript(s.lockPath()))
	var res ssh.Result
	if err := s.call(ctx, host.name, "the unlock command", s.opts.callTimeout(), func(ctx context.Context) error {
		var err error
		res, err = host.ssh.Run(ctx, script, nil)
		return err
	}); err != nil {
		return fmt.Errorf("release the deploy lock on %s: %w", host.name, err)
	}
	if info := parseLockStatus(res.Stdout); info != nil {
		return &LockedError{Host: host.name, Info: *info}
	}
	s.forget(id)
	return nil
}

// BreakLock removes the app's deploy lock whoever holds it, half-written
// ones included, and returns what it removed (nil when the lock was
// free). Use it for a lock left behind by a deploy that died; breaking
// the lock of a running deploy lets another one run beside it.
func (s *Session) BreakLock(ctx context.Context) (_ *LockInfo, err error) {
	defer s.redactErr(&err)
	host := s.hosts[s.app.PrimaryHost()]
	var res ssh.Result
	err = s.call(ctx, host.name, "the unlock command", s.opts.callTimeout(), func(ctx context.Context) error {
		var err error
		res, err = host.ssh.Run(ctx, lockStatusScript(s.lockPath())+"; rm -rf "+ssh.Quote(s.lockPath()), nil)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("break the deploy lock on %s: %w", host.name, err)
	}
	s.forget("")
	return parseLockStatus(res.Stdout), nil
}

// heldLock is the lock this session holds; its ID is "" when none.
func (s *Session) heldLock() LockInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held == nil {
		return LockInfo{}
	}
	return *s.held
}

// forget drops the session's record of lock id ("" for any).
func (s *Session) forget(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held != nil && (id == "" || s.held.ID == id) {
		s.held = nil
	}
}

// LockStatus returns the lock's holder, or nil when it is free. A
// half-written lock is returned with Incomplete set.
func (s *Session) LockStatus(ctx context.Context) (_ *LockInfo, err error) {
	defer s.redactErr(&err)
	host := s.hosts[s.app.PrimaryHost()]
	var res ssh.Result
	err = s.call(ctx, host.name, "the lock status command", s.opts.callTimeout(), func(ctx context.Context) error {
		var err error
		res, err = host.ssh.Run(ctx, lockStatusScript(s.lockPath()), nil)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read the deploy lock on %s: %w", host.name, err)
	}
	return parseLockStatus(res.Stdout), nil
}

// withLock runs fn holding the deploy lock: the session's own when it
// holds it already, or one taken for fn and released after it, the
// release's failure joined to fn's error.
func (s *Session) withLock(ctx context.Context, version string, fn func() error) (err error) {
	if s.heldLock().ID != "" {
		return fn()
	}
	if err := s.Lock(ctx, version); err != nil {
		return err
	}
	defer func() { err = s.releaseAfter(ctx, err) }()
	return fn()
}

// releaseAfter releases the lock at the end of an operation that failed
// with err (or nil), within the cleanup budget when ctx has ended. It
// reconnects to the primary host when its connection was lost. A lock
// that cannot be released is reported as a *StaleLockError, with its
// holder and age, joined to err.
func (s *Session) releaseAfter(ctx context.Context, err error) error {
	cctx, cancel := s.cleanupCtx(ctx, 0)
	defer cancel()
	host := s.hosts[s.app.PrimaryHost()]
	mine := s.heldLock()
	var uerr error
	if err != nil {
		s.checkLink(cctx, host)
	}
	if !host.ssh.Alive() {
		uerr = s.reconnect(cctx, host)
	}
	if uerr == nil {
		uerr = s.Unlock(cctx)
	}
	var other *LockedError
	if uerr == nil || errors.As(uerr, &other) { // released, or broken and taken by someone else since
		return err
	}
	return errors.Join(err, &StaleLockError{Host: host.name, Err: uerr, Info: mine})
}
