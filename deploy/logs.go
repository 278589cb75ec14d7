package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
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
	missed := make([][]string, len(hosts)) // "host (role)" without a container
	err = s.onHosts(hosts, func(i int, h *hostConn) error {
		cs, err := s.appContainers(ctx, h)
		if err != nil {
			return fmt.Errorf("logs on %s: %w", h.name, err)
		}
		for _, role := range roles[h.name] {
			if c, ok := current(cs, role); ok {
				found[i] = append(found[i], source{h.name, role, c.Name})
			} else {
				missed[i] = append(missed[i], h.name+" ("+role+")")
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	sources, missing := slices.Concat(found...), slices.Concat(missed...)
	if len(sources) == 0 {
		return fmt.Errorf("logs: %s has no container on %s: deploy first", s.app.Service, strings.Join(missing, ", "))
	}
	for _, m := range missing {
		s.out.linef("%-15s logs: no container, deploy first", m)
	}

	sink := s.newLineSink(w)
	defer sink.Close()
	// Every stream at once, whatever Options.Parallel says: a follow
	// never ends by itself, so a stream left waiting for a slot would
	// never start.
	err = fanOut(0, len(sources), func(i int) error {
		src := sources[i]
		prefix := linePrefix(src.host, src.role)
		stdout, stderr := sink.writer(prefix), sink.writer(prefix)
		err := s.hosts[src.host].engine.Logs(ctx, src.container,
			engine.LogOptions{Tail: opts.Tail, Follow: opts.Follow, Since: opts.Since}, stdout, stderr)
		return errors.Join(err, stdout.Close(), stderr.Close())
	})
	if opts.Follow && ctx.Err() != nil {
		return nil
	}
	return err
}
