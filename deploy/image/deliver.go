package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/deploy/ssh"
)

// Target is a host an image is delivered to.
type Target struct {
	// Name names the host in output, such as "10.250.1.2".
	Name string
	// SSH is the host's connection; registry-free delivery forwards a
	// port through it.
	SSH *ssh.Client
	// Engine is the host's engine, reached through SSH.
	Engine *engine.Engine
	// Platform is the host's platform, such as "linux/amd64"; "" means
	// read it from the engine.
	Platform string
}

// Result is what delivering to one host did.
type Result struct {
	Host string
	// ImageID is the image the host now holds under the reference.
	ImageID string
	// Present is set when the host already held the image: only the
	// reference was (re)pointed and nothing was sent.
	Present bool
	// Bytes are the image bytes sent to the host: through the SSH
	// forward for registry-free delivery, 0 for a registry pull (the host
	// fetches from the registry).
	Bytes int64
	// Layers is how many layers the host fetched.
	Layers   int
	Duration time.Duration
}

// Options configure Deliver.
type Options struct {
	// Registry, when set, delivers through it: the image is pushed once
	// and every host pulls it with the registry's login. When nil, the
	// image travels registry-free over each host's SSH connection.
	Registry *Registry
	// Output receives progress: a bar per host on a terminal, plain lines
	// otherwise; nil shows none.
	Output io.Writer
	// Terminal forces bars (true) or lines (false) when set; nil means
	// detect whether Output is a terminal.
	Terminal *bool
}

// Targets reads each target's platform from its engine where it is not
// set, and returns the distinct platforms the targets need.
func Targets(ctx context.Context, targets []Target) ([]string, error) {
	var ps []string
	for i := range targets {
		t := &targets[i]
		if t.Platform == "" {
			v, err := t.Engine.Version(ctx)
			if err != nil {
				return nil, err
			}
			t.Platform = Platform(v.OS, v.Arch)
		}
		ps = append(ps, t.Platform)
	}
	return uniq(ps), nil
}

// Deliver puts built under ref on every target, all at once. A host that
// already holds the image (same image ID) is sent nothing. Registry
// problems (unreachable, refused login) fail before any host is touched.
// When any host fails, the hosts that did receive the image get back the
// reference they had, so a failed delivery leaves every host as it was.
func Deliver(ctx context.Context, built *Built, ref string, targets []Target, opts Options) ([]Result, error) {
	if _, err := name.ParseReference(ref); err != nil {
		return nil, fmt.Errorf("deliver %s: %w", ref, err)
	}
	if _, err := Targets(ctx, targets); err != nil {
		return nil, fmt.Errorf("deliver %s: %w", ref, err)
	}
	if built == nil && opts.Registry == nil {
		return nil, fmt.Errorf("deliver %s: nothing built, and no registry to pull from", ref)
	}
	for _, t := range targets {
		if built == nil {
			break
		}
		if _, err := built.For(t.Platform); err != nil {
			return nil, fmt.Errorf("deliver %s to %s: %w", ref, t.Name, err)
		}
	}
	tty := isTerminal(opts.Output)
	if opts.Terminal != nil {
		tty = *opts.Terminal
	}
	prog := newProgress(opts.Output, tty)
	defer prog.close()

	var (
		send  func(ctx context.Context, t Target, b *bar) (Result, error)
		close func()
	)
	if opts.Registry != nil {
		pull, err := opts.Registry.push(ctx, built, ref)
		if err != nil {
			return nil, err
		}
		send = func(ctx context.Context, t Target, b *bar) (Result, error) {
			return pull(ctx, t, b)
		}
		close = func() {}
	} else {
		s, err := newServer(ctx, built)
		if err != nil {
			return nil, fmt.Errorf("deliver %s: %w", ref, err)
		}
		send = func(ctx context.Context, t Target, b *bar) (Result, error) {
			return s.send(ctx, t, ref, b)
		}
		close = func() {}
	}
	defer close()

	results := make([]Result, len(targets))
	errs := make([]error, len(targets))
	prior := make([]string, len(targets)) // what ref named before, "" for nothing
	var wg sync.WaitGroup
	for i, t := range targets {
		b := prog.add(t.Name, "image")
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			if img, err := t.Engine.ImageInspect(ctx, ref); err == nil {
				prior[i] = img.ID
			}
			var id string
			if built != nil {
				id, _ = built.ID(t.Platform)
			}
			var res Result
			var err error
			if _, ierr := t.Engine.ImageInspect(ctx, id); id != "" && ierr == nil {
				res = Result{Host: t.Name, ImageID: id, Present: true}
				if prior[i] != id {
					err = t.Engine.ImageTag(ctx, id, ref)
				}
				b.finish("present, sent", false)
			} else {
				res, err = send(ctx, t, b)
				note := "sent"
				if err != nil {
					note = "FAILED after"
				}
				b.finish(note, err != nil)
			}
			res.Host, res.Duration = t.Name, time.Since(start)
			results[i], errs[i] = res, err
		}()
	}
	wg.Wait()

	var failed []error
	for i, err := range errs {
		if err != nil {
			failed = append(failed, fmt.Errorf("%s: %w", targets[i].Name, err))
		}
	}
	if len(failed) == 0 {
		return results, nil
	}
	// Put back what each host had, so that a failed delivery changes nothing.
	bg := context.WithoutCancel(ctx)
	var undone []string
	for i, t := range targets {
		if results[i].ImageID == "" || results[i].ImageID == prior[i] {
			continue
		}
		if prior[i] != "" {
			t.Engine.ImageTag(bg, prior[i], ref)
		} else {
			t.Engine.ImageRemove(bg, ref, false)
		}
		undone = append(undone, t.Name)
	}
	msg := "no host was changed"
	if len(undone) > 0 {
		slices.Sort(undone)
		msg = "the image was taken back off " + strings.Join(undone, ", ") + ", so no host was changed"
	}
	return results, fmt.Errorf("deliver %s: %w\n%s", ref, errors.Join(failed...), msg)
}
