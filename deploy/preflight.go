package deploy

import (
	"context"
	"fmt"
)

// CheckEngines checks every host's Docker Engine against
// engine.MinimumVersion, all hosts at once, changing nothing. The error
// names each host whose engine is too old (it matches
// engine.ErrEngineTooOld) or could not be asked. Call it before a deploy
// touches a host: accessory files reach containers through the engine's
// archive endpoint, whose older releases have host-side advisories.
func (s *Session) CheckEngines(ctx context.Context) (err error) {
	defer s.redactErr(&err)
	hosts := s.app.HostNames()
	return s.onHosts(hosts, func(_ int, h *hostConn) error {
		if _, err := h.engine.CheckVersion(ctx); err != nil {
			return fmt.Errorf("preflight: %w", err)
		}
		return nil
	})
}

// checkAndLock checks every host's engine (CheckEngines) while it takes
// the deploy lock (Lock), so that a deploy waits for one round of
// calls, not two. Both leave the hosts as they were but for the lock,
// which a failed check releases: an engine that fails its check is
// reported as before, ahead of a lock held by someone else.
func (s *Session) checkAndLock(ctx context.Context, version string) error {
	checked := make(chan error, 1)
	go func() { checked <- s.CheckEngines(ctx) }()
	lockErr := s.Lock(ctx, version)
	if err := <-checked; err != nil {
		if lockErr == nil {
			return s.releaseAfter(ctx, err)
		}
		return err
	}
	return lockErr
}
