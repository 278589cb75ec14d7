package deploy

import (
	"context"
	"time"
)

// auditNothing records, on every host of the app, that a deploy (step
// "nothing-to-deploy") or a rollback ("nothing-to-roll-back") found
// every container as the release defines it and changed nothing.
func (s *Session) auditNothing(ctx context.Context, p Plan, step string, start time.Time) {
	audit := &auditLog{}
	for _, h := range s.app.HostNames() {
		audit.add(AuditEntry{Time: start.UTC(), Performer: s.performer, Service: s.app.Service, Destination: s.app.Destination,
			Host: h, Step: step, Version: p.Version, Image: p.Image, DurationMS: time.Since(start).Milliseconds(), Result: "ok"})
	}
	s.writeAudit(ctx, audit)
}
