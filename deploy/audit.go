package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/slipwayhq/slipway/deploy/ssh"
	"github.com/slipwayhq/slipway/secret"
)

// AuditEntry is one line of a host's audit log: one step of a deploy,
// rollback or prune on that host. It never holds a secret.
type AuditEntry struct {
	Time        time.Time `json:"time"` // when the step started
	Performer   string    `json:"performer"`
	Service     string    `json:"service"`
	Destination string    `json:"destination,omitempty"`
	Host        string    `json:"host"`
	Role        string    `json:"role,omitempty"`
	Step        string    `json:"step"`
	Version     string    `json:"version,omitempty"`
	Container   string    `json:"container,omitempty"`
	Image       string    `json:"image,omitempty"` // for image steps: the reference
	DurationMS  int64     `json:"duration_ms"`
	Result      string    `json:"result"` // "ok" or "failed"
	Error       string    `json:"error,omitempty"`
}

// AuditPath is where each host keeps the app's audit log, relative to the
// SSH user's home: one JSON object per line, appended to, never rewritten.
func AuditPath(a App) string {
	return ".slipway/audit/" + ProxyService(a, "audit") + ".log"
}

// auditLog gathers entries per host and appends them to each host's log.
type auditLog struct {
	mu      sync.Mutex
	pending map[string][]AuditEntry
}

func (l *auditLog) add(e AuditEntry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.pending == nil {
		l.pending = map[string][]AuditEntry{}
	}
	l.pending[e.Host] = append(l.pending[e.Host], e)
}

// flush appends host's pending entries to its log in one command.
func (s *Session) flushAudit(ctx context.Context, l *auditLog, host string) error {
	l.mu.Lock()
	entries := l.pending[host]
	delete(l.pending, host)
	l.mu.Unlock()
	if len(entries) == 0 {
		return nil
	}
	var buf bytes.Buffer
	for _, e := range entries {
		e.Error = s.Redact(e.Error)
		line, err := json.Marshal(e)
		if err != nil {
			return err
		}
		buf.Write(line)
		buf.WriteByte('\n')
	}
	path := AuditPath(s.app)
	cmd := fmt.Sprintf("mkdir -p .slipway/audit && cat >> %s", ssh.Quote(path))
	// Not cancelled with ctx, so a cancelled deploy still leaves its lines;
	// bounded, so a hung host cannot hold it; kept for a later flush when
	// it fails (the cleanup after a lost connection flushes again).
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.callTimeout())
	defer cancel()
	if dl, ok := ctx.Deadline(); ok {
		wctx, cancel = context.WithDeadline(wctx, dl)
		defer cancel()
	}
	if _, err := s.hosts[host].ssh.Run(wctx, cmd, &buf); err != nil {
		l.mu.Lock()
		l.pending[host] = append(entries, l.pending[host]...)
		l.mu.Unlock()
		return fmt.Errorf("append to the audit log on %s: %w", host, err)
	}
	return nil
}

func (s *Session) secretsOrNil() secret.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.secrets
}

// Audit reads the last n entries of every host's audit log (all when n is 0).
func (s *Session) Audit(ctx context.Context, n int) (_ map[string][]AuditEntry, err error) {
	defer s.redactErr(&err)
	hosts := s.app.HostNames()
	per := make([][]AuditEntry, len(hosts))
	err = s.onHosts(hosts, func(i int, h *hostConn) error {
		cmd := "cat " + ssh.Quote(AuditPath(s.app)) + " 2>/dev/null || true"
		if n > 0 {
			cmd = fmt.Sprintf("tail -n %d %s 2>/dev/null || true", n, ssh.Quote(AuditPath(s.app)))
		}
		res, err := h.ssh.Run(ctx, cmd, nil)
		if err != nil {
			return err
		}
		for _, line := range strings.Split(strings.TrimSpace(string(res.Stdout)), "\n") {
			if line == "" {
				continue
			}
			var e AuditEntry
			if err := json.Unmarshal([]byte(line), &e); err != nil {
				return fmt.Errorf("audit log: %w", err)
			}
			per[i] = append(per[i], e)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := map[string][]AuditEntry{}
	for i, host := range hosts {
		if len(per[i]) > 0 {
			out[host] = per[i]
		}
	}
	return out, nil
}

// stepLine is one finished step of an operation on one host, as it is
// printed and audited: the one shape every operation records its steps in.
type stepLine struct {
	host, role, step string
	version          string
	container        string
	image            string // for an image step: the reference, audited
	detail           string // what the output line shows after the step
	start            time.Time
	err              error
}

// record prints l's output line and gathers its audit line in audit;
// with a nil audit (a step that changes no host) it only prints.
func (s *Session) record(audit *auditLog, l stepLine) {
	s.out.step(l.host, l.role, l.step, l.detail, l.start, l.err)
	if audit == nil {
		return
	}
	e := AuditEntry{Time: l.start.UTC(), Performer: s.performer, Service: s.app.Service, Destination: s.app.Destination,
		Host: l.host, Role: l.role, Step: l.step, Version: l.version, Container: l.container, Image: l.image,
		DurationMS: time.Since(l.start).Milliseconds(), Result: "ok"}
	if l.err != nil {
		e.Result, e.Error = "failed", firstLine(l.err.Error())
	}
	audit.add(e)
}
