package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/slipwayhq/slipway/deploy/engine"
)

// The operations beside deploy and rollback: what is retained (Versions),
// clearing it (Prune), what runs where (Details), the app's output (Logs)
// and commands in its containers (Exec), each in a file of its own. They
// read the same labels the planner reads, through appContainers below,
// and every one of them works on its hosts at once (Options.Parallel).

// appContainers reads the app's release containers on one host (this
// destination's only), inspected for their exact times and health: roles
// primary first, then newest first.
func (s *Session) appContainers(ctx context.Context, h *hostConn) ([]engine.Container, error) {
	list, err := h.engine.List(ctx, engine.ListOptions{All: true, Labels: map[string]string{LabelService: s.app.Service}})
	if err != nil {
		return nil, err
	}
	var out []engine.Container
	for _, c := range list {
		if c.Labels[LabelDestination] != s.app.Destination || c.Labels[LabelRole] == "" {
			continue
		}
		full, err := h.engine.Inspect(ctx, c.ID)
		if errors.Is(err, engine.ErrNotFound) {
			continue // removed since the list
		}
		if err != nil {
			return nil, err
		}
		out = append(out, full)
	}
	order := s.app.roleNames()
	rank := func(role string) int {
		if i := slices.Index(order, role); i >= 0 {
			return i
		}
		return len(order)
	}
	sort.SliceStable(out, func(i, j int) bool {
		ri, rj := out[i].Labels[LabelRole], out[j].Labels[LabelRole]
		if ri != rj {
			if rank(ri) != rank(rj) {
				return rank(ri) < rank(rj)
			}
			return ri < rj
		}
		return out[i].Created.After(out[j].Created)
	})
	return out, nil
}

// current picks a role's current container from appContainers' list: the
// newest running one, or the newest one when none runs.
func current(cs []engine.Container, role string) (engine.Container, bool) {
	var newest *engine.Container
	for i, c := range cs {
		if c.Labels[LabelRole] != role {
			continue
		}
		if c.Running() {
			return c, true
		}
		if newest == nil {
			newest = &cs[i]
		}
	}
	if newest == nil {
		return engine.Container{}, false
	}
	return *newest, true
}

// choose narrows the app's hosts and their roles to the ones named; none
// named means all. It names what it does not know.
func (s *Session) choose(hosts, roles []string) ([]string, map[string][]string, error) {
	all := s.app.HostNames()
	for _, h := range hosts {
		if !slices.Contains(all, h) {
			return nil, nil, fmt.Errorf("unknown host %s; the app's hosts: %s", h, strings.Join(all, ", "))
		}
	}
	for _, r := range roles {
		if _, ok := s.app.Roles[r]; !ok {
			return nil, nil, fmt.Errorf("unknown role %q; the app's roles: %s", r, strings.Join(s.app.roleNames(), ", "))
		}
	}
	var chosen []string
	byHost := map[string][]string{}
	for _, h := range all {
		if len(hosts) > 0 && !slices.Contains(hosts, h) {
			continue
		}
		for _, r := range s.app.rolesOn(h) {
			if len(roles) == 0 || slices.Contains(roles, r) {
				byHost[h] = append(byHost[h], r)
			}
		}
		if len(byHost[h]) > 0 {
			chosen = append(chosen, h)
		}
	}
	if len(chosen) == 0 {
		return nil, nil, fmt.Errorf("roles %s do not run on hosts %s", strings.Join(roles, ", "), strings.Join(hosts, ", "))
	}
	return chosen, byHost, nil
}
