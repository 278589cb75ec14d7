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
