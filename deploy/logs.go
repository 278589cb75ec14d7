package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/slipwayhq/slipway/deploy/engine"
)

// LogOptions choose the output Logs writes. The zero value writes the
// whole output of every current container of the app.
type LogOptions struct {
	// Tail is how many of the last lines of each container to write; 0 means all.
	Tail int
	// Follow keeps writing new lines until ctx ends.
	Follow bool
	// Since leaves out lines logged before it; zero means from the start.
	Since time.Time
	// Roles and Hosts narrow the containers to these roles and hosts;
	// none means all of them.
	Roles []string
	Hosts []string
}

// Logs writes the output of the app's current containers — on each host,
// each role's newest running container, or its newest one when none runs —
// from all hosts at once to w. Every line is prefixed with its host and
// role and written whole, so lines from different hosts never mix. A
// follow ends without error when ctx ends. Logs resolves the app's
// secrets first, as a deploy does, and redacts their values; when one
// cannot be resolved it writes nothing and the error names it.
func (s *Session) Logs(ctx context.Context, opts LogOptions, w io.Writer) (err error) {
	defer s.redactErr(&err)
	hosts, roles, err := s.choose(opts.Hosts, opts.Roles)
	if err != nil {
		return err
	}
	if err := s.learnSecrets(ctx); err != nil {
		return fmt.Errorf("logs: %w", err)
	}
	type source struct{ host, role, container string }
	found := make([][]source, len(hosts))
	var missing []string
	var mu sync.Mutex
	err = s.onHosts(hosts, func(i int, h *hostConn) error {
		cs, err := s.appContainers(ctx, h)
		if err != nil {
			return fmt.Errorf("logs on %s: %w", h.name, err)
		}
		for _, role := range roles[h.name] {
			if c, ok := current(cs, role); ok {
				found[i] = append(found[i], source{h.name, role, c.Name})
			} else {
				mu.Lock()
				missing = append(missing, h.name+" ("+role+")")
				mu.Unlock()
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	sources := slices.Concat(found...)
	if len(sources) == 0 {
		return fmt.Errorf("logs: %s has no container on %s: deploy first", s.app.Service, strings.Join(missing, ", "))
	}
	for _, m := range missing {
		s.out.linef("%-15s logs: no container, deploy first", m)
	}

	sink := s.newLineSink(w)
	defer sink.Close()
	errs := make([]error, len(sources))
	var wg sync.WaitGroup
	for i, src := range sources {
		wg.Add(1)
		go func() {
			defer wg.Done()
			prefix := linePrefix(src.host, src.role)
			stdout, stderr := sink.writer(prefix), sink.writer(prefix)
			errs[i] = s.hosts[src.host].engine.Logs(ctx, src.container,
				engine.LogOptions{Tail: opts.Tail, Follow: opts.Follow, Since: opts.Since}, stdout, stderr)
			errs[i] = errors.Join(errs[i], stdout.Close(), stderr.Close())
		}()
	}
	wg.Wait()
	if opts.Follow && ctx.Err() != nil {
		return nil
	}
	return errors.Join(errs...)
}

