package deploy

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"time"

	"golang.org/x/term"

	"github.com/slipwayhq/slipway/deploy/image"
)

// buildAndDeliver runs a plan's image steps ahead of the rest of Prepare:
// the build, once, on this machine, then delivery to every host at once.
// A bad build or registry stops the deploy before any host changes, and a
// failed delivery is taken back off the hosts that got it. It returns the
// Prepare steps left to run.
func (s *Session) buildAndDeliver(ctx context.Context, p Plan, rep *Report, audit *auditLog) ([]Step, error) {
	var (
		build         *Step
		deliver, rest []Step
	)
	for _, st := range p.Prepare {
		switch st.Kind {
		case StepBuildImage:
			build = &st
		case StepDeliverImage:
			deliver = append(deliver, st)
		default:
			rest = append(rest, st)
		}
	}
	if build == nil && len(deliver) == 0 {
		return p.Prepare, nil
	}
	reg, err := s.registryLogin(ctx)
	if err != nil {
		return nil, err
	}
	targets := make([]image.Target, len(deliver))
	for i, st := range deliver {
		h := s.hosts[st.Host]
		targets[i] = image.Target{Name: st.Host, SSH: h.ssh, Engine: h.engine}
	}
	platforms, err := image.Targets(ctx, targets)
	if err != nil {
		return nil, err
	}

	var built *image.Built
	if build != nil {
		if s.app.Build == nil {
			return nil, fmt.Errorf("the plan builds %s but App.Build is nil", build.Image)
		}
		start := time.Now()
		built, err = s.app.Build.Build(ctx, platforms, s.out)
		s.out.step("(local)", "", StepBuildImage.String(), build.Image, start, err)
		rep.Steps = append(rep.Steps, StepResult{Step: *build, Start: start, Duration: time.Since(start), Err: err})
		if err != nil {
			return nil, fmt.Errorf("build %s: %w", build.Image, err)
		}
		defer built.Close()
	}
	if len(deliver) == 0 {
		return rest, nil
	}

	start := time.Now()
	w := s.opts.Output
	if w == nil {
		w = os.Stdout
	}
	tty := isTerminal(w)
	results, err := image.Deliver(ctx, built, p.Image, targets, image.Options{Registry: reg, Output: s.out, Terminal: &tty})
	for i, st := range deliver {
		var res image.Result
		if i < len(results) {
			res = results[i]
		}
		detail := st.Image
		switch {
		case res.Present:
			detail += " (present)"
		case reg != nil && res.ImageID != "":
			detail += fmt.Sprintf(" (pulled %d layers)", res.Layers)
		case res.ImageID != "":
			detail += fmt.Sprintf(" (sent %.1f MB)", float64(res.Bytes)/(1<<20))
		}
		stepErr := err
		if res.ImageID != "" && err != nil {
			stepErr = fmt.Errorf("taken back: another host failed")
		}
		s.out.step(st.Host, "", st.Kind.String(), detail, start, stepErr)
		entry := AuditEntry{Time: start.UTC(), Performer: s.performer, Service: s.app.Service,
			Destination: s.app.Destination, Host: st.Host, Step: st.Kind.String(),
			Version: p.Version, DurationMS: time.Since(start).Milliseconds(), Result: "ok"}
		if stepErr != nil {
			entry.Result, entry.Error = "failed", firstLine(stepErr.Error())
		}
		audit.add(entry)
		rep.Steps = append(rep.Steps, StepResult{Step: st, Start: start, Duration: time.Since(start), Err: stepErr})
	}
	if err != nil {
		return nil, err
	}
	return rest, nil
}

// registryLogin resolves App.Registry's password and teaches the output
// to redact it.
func (s *Session) registryLogin(ctx context.Context) (*image.Registry, error) {
	r := s.app.Registry
	if r == nil {
		return nil, nil
	}
	reg := &image.Registry{Username: r.Username, Insecure: r.Insecure}
	if r.PasswordSecret == "" {
		return reg, nil
	}
	src := s.app.Secrets
	if src == nil {
		src = EnvSecrets{}
	}
	pw, err := src.Secret(ctx, r.PasswordSecret)
	if err != nil {
		return nil, fmt.Errorf("registry password (secret %s): %w", r.PasswordSecret, err)
	}
	reg.Password = pw
	redact := Secrets{}
	maps.Copy(redact, s.secretsOrNil())
	redact[r.PasswordSecret] = pw
	s.out.redact(redact)
	return reg, nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
