package deploy

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/slipwayhq/slipway/health"
)

// ForDestination returns a copy of the App with the overlay
// Destinations[name] applied and Destination set to name. The overlay
// gets a deep copy, so whatever it changes (roles, servers, env, labels)
// never reaches the base App. A nil overlay changes nothing but the
// Destination. An empty name returns a copy of the base App.
func (a App) ForDestination(name string) (App, error) {
	if name == "" {
		return a.Clone(), nil
	}
	overlay, ok := a.Destinations[name]
	if !ok {
		msg := fmt.Sprintf("unknown destination %q: the app has no destinations", name)
		if len(a.Destinations) > 0 {
			msg = fmt.Sprintf("unknown destination %q; known destinations: %s", name, strings.Join(sortedKeys(a.Destinations), ", "))
		}
		// It reads as msg alone, and wraps a *ValidationError: it is a bad
		// config, which the ready targets exit 2 for.
		return App{}, fmt.Errorf("%s%.0w", msg, &ValidationError{Problems: []Problem{{Field: "destination", Message: msg}}})
	}
	c := a.Clone()
	if overlay != nil {
		overlay(&c)
	}
	c.Destination = name
	return c, nil
}

// Clone returns a deep copy of the App: its maps, slices and pointers
// are copied, so changing the copy never changes a. Funcs (hooks,
// destination overlays) and the secret source are shared, as they
// cannot be copied.
func (a App) Clone() App {
	c := a
	c.Roles = cloneRoles(a.Roles)
	c.Env = a.Env.clone()
	c.Volumes = slices.Clone(a.Volumes)
	c.Labels = maps.Clone(a.Labels)
	if a.Migrate != nil {
		m := *a.Migrate
		m.Cmd = slices.Clone(m.Cmd)
		c.Migrate = &m
	}
	if cs, ok := a.Secrets.(CommandSecrets); ok {
		cs.Command = slices.Clone(cs.Command)
		c.Secrets = cs
	}
	c.Destinations = maps.Clone(a.Destinations)
	return c
}

func cloneRoles(roles Roles) Roles {
	if roles == nil {
		return nil
	}
	c := make(Roles, len(roles))
	for name, r := range roles {
		r.Servers = cloneServers(r.Servers)
		r.Cmd = slices.Clone(r.Cmd)
		r.Env = r.Env.clone()
		r.Labels = maps.Clone(r.Labels)
		r.Options.ExtraHosts = slices.Clone(r.Options.ExtraHosts)
		if r.Proxy != nil {
			p := *r.Proxy
			p.Hosts = slices.Clone(p.Hosts)
			r.Proxy = &p
		}
		if g, ok := r.Health.(health.Command); ok {
			g.Cmd = slices.Clone(g.Cmd)
			r.Health = g
		}
		c[name] = r
	}
	return c
}

func cloneServers(servers []Server) []Server {
	if servers == nil {
		return nil
	}
	c := make([]Server, len(servers))
	for i, s := range servers {
		c[i] = s.clone(0)
	}
	return c
}

// clone copies a server and its chain of bastions, up to maxJumpDepth
// (a deeper chain is a cycle, which Validate reports).
func (s Server) clone(depth int) Server {
	s.Labels = maps.Clone(s.Labels)
	s.KeyFiles = slices.Clone(s.KeyFiles)
	if s.Jump != nil && depth < maxJumpDepth {
		j := s.Jump.clone(depth + 1)
		s.Jump = &j
	}
	return s
}

func (e Env) clone() Env {
	return Env{Clear: maps.Clone(e.Clear), Secret: slices.Clone(e.Secret)}
}
