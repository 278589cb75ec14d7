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
	// none means every role's (accessories are left out). Roles may name
	// accessories too ("litestream-web"): their containers' output is
	// written, prefixed with the accessory's name.
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
	hosts, roles, accessories, err := s.chooseLogs(opts.Hosts, opts.Roles)
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
		if len(roles[h.name]) > 0 {
			cs, err := s.appContainers(ctx, h)
			if err != nil {
				return fmt.Errorf("logs: %w", err)
			}
			for _, role := range roles[h.name] {
				if c, ok := current(cs, role); ok {
					found[i] = append(found[i], source{h.name, role, c.Name})
				} else {
					missed[i] = append(missed[i], h.name+" ("+role+")")
				}
			}
		}
		for _, name := range accessories[h.name] {
			ctr := AccessoryName(s.app, name)
			switch _, err := h.engine.Inspect(ctx, ctr); {
			case errors.Is(err, engine.ErrNotFound):
				missed[i] = append(missed[i], h.name+" ("+name+")")
			case err != nil:
				return fmt.Errorf("logs: %w", err)
			default:
				found[i] = append(found[i], source{h.name, name, ctr})
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

// chooseLogs splits names into the app's roles and accessories, and
// picks the hosts of each among hosts (none means all): per host, the
// roles and the accessories whose output to write. A name that is
// neither is an error naming both lists.
func (s *Session) chooseLogs(hosts, names []string) (chosen []string, roles, accessories map[string][]string, err error) {
	all := s.app.HostNames()
	var roleNames, accNames []string
	for _, n := range names {
		_, isRole := s.app.Roles[n]
		_, isAcc := s.app.Accessories[n]
		switch {
		case isRole:
			roleNames = append(roleNames, n)
		case isAcc:
			accNames = append(accNames, n)
		default:
			known := slices.Concat(s.app.roleNames(), sortedKeys(s.app.Accessories))
			return nil, nil, nil, fmt.Errorf("unknown role or accessory %q; the app's roles and accessories: %s", n, strings.Join(known, ", "))
		}
	}
	roles, accessories = map[string][]string{}, map[string][]string{}
	if len(roleNames) > 0 || len(accNames) == 0 {
		if _, roles, err = s.choose(hosts, roleNames); err != nil && len(accNames) == 0 {
			return nil, nil, nil, err
		}
	}
	for _, h := range hosts {
		if !slices.Contains(all, h) {
			return nil, nil, nil, fmt.Errorf("unknown host %s; the app's hosts: %s", h, strings.Join(all, ", "))
		}
	}
	for _, n := range accNames {
		for _, h := range s.app.accessoryHosts(n) {
			if len(hosts) > 0 && !slices.Contains(hosts, h) {
				continue
			}
			accessories[h] = append(accessories[h], n)
		}
	}
	for _, h := range all { // in the app's host order
		if len(roles[h]) > 0 || len(accessories[h]) > 0 {
			chosen = append(chosen, h)
		}
	}
	if len(chosen) == 0 {
		return nil, nil, nil, fmt.Errorf("%s do not run on hosts %s", strings.Join(names, ", "), strings.Join(hosts, ", "))
	}
	return chosen, roles, accessories, nil
}
