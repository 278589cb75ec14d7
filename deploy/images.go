package deploy

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"time"

	"github.com/dustin/go-humanize"
	"golang.org/x/term"

	"github.com/slipwayhq/slipway/deploy/image"
	"github.com/slipwayhq/slipway/secret"
)

// buildAndDeliver runs a plan's image steps ahead of the rest of Prepare:
// for the app's image, then each accessory's that has any, the build,
// once, on this machine, then delivery to every host at once. A bad
// build or registry stops the deploy before any host changes, and a
// failed delivery is taken back off the hosts that got it. It returns
// the Prepare steps left to run.
func (s *Session) buildAndDeliver(ctx context.Context, p Plan, rep *Report, audit *auditLog) ([]Step, error) {
	var (
		owners  []string // "" for the app, else the accessory's name
		builds  = map[string]Step{}
		deliver = map[string][]Step{}
		rest    []Step
	)
	for _, st := range p.Prepare {
		switch st.Kind {
		case StepBuildImage, StepDeliverImage:
			if _, ok := builds[st.Role]; !ok && len(deliver[st.Role]) == 0 {
				owners = append(owners, st.Role)
			}
			if st.Kind == StepBuildImage {
				builds[st.Role] = st
			} else {
				deliver[st.Role] = append(deliver[st.Role], st)
			}
		default:
			rest = append(rest, st)
		}
	}
	if len(owners) == 0 {
		return p.Prepare, nil
	}
	reg, err := s.registryLogin(ctx)
	if err != nil {
		return nil, err
	}
	for _, owner := range owners {
		d := imageDelivery{build: builds[owner], deliver: deliver[owner], registry: reg}
		if owner == "" {
			d.builder = s.app.Build
		} else {
			acc := s.app.Accessories[owner]
			d.builder = acc.Build
			switch {
			case acc.Registry != nil:
				if d.registry, err = s.login(ctx, acc.Registry); err != nil {
					return nil, fmt.Errorf("accessory %s: %w", owner, err)
				}
			case !s.app.accessoryPull(owner):
				d.registry = nil // the app's login is for the app's registry only
				if slices.ContainsFunc(d.deliver, func(st Step) bool { return st.Anonymous }) {
					d.registry = &image.Registry{} // another registry's image: pulled without a login
				}
			}
		}
		if err := s.deliverImage(ctx, p, d, rep, audit); err != nil {
			if slices.ContainsFunc(d.deliver, func(st Step) bool { return st.Anonymous }) {
				return nil, fmt.Errorf("%w\n(pulled anonymously: a registry that wants a login needs accessories.%s.registry)", err, owner)
			}
			return nil, err
		}
	}
	return rest, nil
}

// imageDelivery is one image's build and delivery steps.
type imageDelivery struct {
	build    Step // Kind is 0 when nothing is built
	deliver  []Step
	builder  image.Builder
	registry *image.Registry
}

// deliverImage builds one image (the app's or an accessory's) when the
// plan says so, and delivers it to its hosts.
func (s *Session) deliverImage(ctx context.Context, p Plan, d imageDelivery, rep *Report, audit *auditLog) error {
	targets := make([]image.Target, len(d.deliver))
	for i, st := range d.deliver {
		h := s.hosts[st.Host]
		targets[i] = image.Target{Name: st.Host, SSH: h.ssh, Engine: h.engine}
	}
	platforms, err := image.Targets(ctx, targets)
	if err != nil {
		return err
	}

	var built *image.Built
	if st := d.build; st.Kind == StepBuildImage {
		if d.builder == nil {
			return fmt.Errorf("the plan builds %s but its Build is nil", st.Image)
		}
		start := time.Now()
		// The builder sees the session's redacting output, not the
		// terminal behind it: say which it is, so a build shows a spinner.
		built, err = d.builder.Build(ctx, platforms, terminalOutput{s.out, isTerminal(s.rawOutput())})
		s.record(nil, stepLine{host: "(local)", role: st.Role, step: StepBuildImage.String(), detail: st.Image, start: start, err: err})
		rep.Steps = append(rep.Steps, StepResult{Step: st, Start: start, Duration: time.Since(start), Err: err})
		if err != nil {
			return fmt.Errorf("build %s: %w", st.Image, err)
		}
		defer built.Close()
	}
	if len(d.deliver) == 0 {
		return nil
	}
	ref := d.deliver[0].Image

	start := time.Now()
	tty := isTerminal(s.rawOutput())
	results, err := image.Deliver(ctx, built, ref, targets, image.Options{Registry: d.registry, Output: s.out, Terminal: &tty})
	for i, st := range d.deliver {
		var res image.Result
		if i < len(results) {
			res = results[i]
		}
		detail := st.Image
		switch {
		case res.Present:
			detail += " (present)"
		case d.registry != nil && res.ImageID != "":
			detail += fmt.Sprintf(" (pulled %d layers)", res.Layers)
		case res.ImageID != "":
			detail += " (sent " + humanize.IBytes(uint64(max(res.Bytes, 0))) + ")"
		}
		stepErr := err
		if res.ImageID != "" && err != nil {
			stepErr = fmt.Errorf("taken back: another host failed")
		}
		s.record(audit, stepLine{host: st.Host, role: st.Role, step: st.Kind.String(), version: p.Version,
			detail: detail, start: start, err: stepErr})
		rep.Steps = append(rep.Steps, StepResult{Step: st, Start: start, Duration: time.Since(start), Err: stepErr})
	}
	return err
}

// registryLogin resolves App.Registry's password and teaches the output
// to redact it.
func (s *Session) registryLogin(ctx context.Context) (*image.Registry, error) {
	return s.login(ctx, s.app.Registry)
}

// login resolves a registry login's password (nil for no login) and
// teaches the output to redact it.
func (s *Session) login(ctx context.Context, r *Registry) (*image.Registry, error) {
	if r == nil {
		return nil, nil
	}
	reg := &image.Registry{Username: r.Username, Insecure: r.Insecure}
	if r.PasswordSecret == "" {
		return reg, nil
	}
	src := s.app.Secrets
	if src == nil {
		src = secret.Env{}
	}
	pw, err := src.Secret(ctx, r.PasswordSecret)
	if err != nil {
		return nil, fmt.Errorf("registry password (secret %s): %w", r.PasswordSecret, err)
	}
	reg.Password = pw
	redact := secret.Values{}
	maps.Copy(redact, s.secretsOrNil())
	redact[r.PasswordSecret] = pw
	s.out.redact(redact)
	return reg, nil
}

// rawOutput is where the session's lines end up, past redaction.
func (s *Session) rawOutput() io.Writer {
	if s.opts.Output == nil {
		return os.Stdout
	}
	return s.opts.Output
}

// terminalOutput is the session's output as an image.TerminalWriter.
type terminalOutput struct {
	io.Writer
	tty bool
}

func (t terminalOutput) IsTerminal() bool { return t.tty }

var _ image.TerminalWriter = terminalOutput{}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
