package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
}

// LockedError is returned when the lock is held; it names the holder.
type LockedError struct {
	Host string
	Info LockInfo
}

// Error names the holder, since when, and what to do.
func (e *LockedError) Error() string {
	msg := fmt.Sprintf("%v on %s by %s since %s (%s ago)", ErrLocked, e.Host, e.Info.Performer,
		e.Info.Time.Format(time.RFC3339), time.Since(e.Info.Time).Round(time.Second))
	if e.Info.Version != "" {
		msg += ", deploying " + e.Info.Version
	}
	if e.Info.Message != "" {
		msg += fmt.Sprintf(": %q", e.Info.Message)
	}
	return msg + ". Wait for it to finish, or release it with lock:release if no deploy is running"
}

// Unwrap makes errors.Is(err, ErrLocked) hold.
func (e *LockedError) Unwrap() error { return ErrLocked }

// lockDir is the lock's directory, relative to the SSH user's home on the
// primary host. mkdir is atomic, so two deploys cannot both take it.
func (s *Session) lockDir() string {
	return ".slipway/locks/" + ProxyService(s.app, "lock")
}

// exitLocked is the lock script's exit code for "held by someone else".
const exitLocked = 75

// Lock takes the app's deploy lock on the primary host, waiting up to
// Options.LockWait for a held one.
func (s *Session) Lock(ctx context.Context, version string) (err error) {
	defer s.redactErr(&err)
	host := s.hosts[s.app.PrimaryHost()]
	info := LockInfo{Performer: s.performer, Time: time.Now().UTC(), Version: version,
		Message: s.opts.Message, Destination: s.app.Destination}
	body, err := json.Marshal(info)
	if err != nil {
		return err
	}
	dir := ssh.Quote(s.lockDir())
	script := fmt.Sprintf("mkdir -p .slipway/locks && if mkdir %s 2>/dev/null; then cat > %s/details.json; else cat %s/details.json; exit %d; fi",
		dir, dir, dir, exitLocked)
	deadline := time.Now().Add(s.opts.LockWait)
	for {
		res, err := host.ssh.Run(ctx, script, strings.NewReader(string(body)))
		if err == nil {
			return nil
		}
		var exit *ssh.ExitError
		if !errors.As(err, &exit) || exit.ExitCode != exitLocked {
			return fmt.Errorf("take the deploy lock on %s: %w", host.name, err)
		}
		held := &LockedError{Host: host.name}
		json.Unmarshal(res.Stdout, &held.Info)
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

// Unlock releases the app's deploy lock, whoever holds it.
func (s *Session) Unlock(ctx context.Context) (err error) {
	defer s.redactErr(&err)
	host := s.hosts[s.app.PrimaryHost()]
	if _, err := host.ssh.Run(ctx, "rm -rf "+ssh.Quote(s.lockDir()), nil); err != nil {
		return fmt.Errorf("release the deploy lock on %s: %w", host.name, err)
	}
	return nil
}

// LockStatus returns the lock's holder, or nil when it is free.
func (s *Session) LockStatus(ctx context.Context) (_ *LockInfo, err error) {
	defer s.redactErr(&err)
	host := s.hosts[s.app.PrimaryHost()]
	res, err := host.ssh.Run(ctx, fmt.Sprintf("cat %s/details.json 2>/dev/null || true", ssh.Quote(s.lockDir())), nil)
	if err != nil {
		return nil, fmt.Errorf("read the deploy lock on %s: %w", host.name, err)
	}
	if len(strings.TrimSpace(string(res.Stdout))) == 0 {
		return nil, nil
	}
	var info LockInfo
	if err := json.Unmarshal(res.Stdout, &info); err != nil {
		return nil, fmt.Errorf("read the deploy lock on %s: %w", host.name, err)
	}
	return &info, nil
}
