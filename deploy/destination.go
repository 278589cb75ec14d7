package deploy

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/slipwayhq/slipway/deploy/image"
	"github.com/slipwayhq/slipway/health"
	"github.com/slipwayhq/slipway/secret"
)

// ForDestination returns a copy of the App with the overlay
// Destinations[name] applied and Destination set to name. The overlay
// gets a deep copy (see Clone), so whatever it changes (roles, servers,
// env, accessories, databases, registry) never reaches the base App. A
// database whose replica the overlay leaves in the base's bucket and
// path gets the path "<name>/<base path>" (see Database). A nil overlay
// changes nothing but the Destination and those paths. An empty name
// returns a copy of the base App.
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
	c.deriveReplicaPaths(a, name)
	return c, nil
}

// Clone returns a deep copy of the App: its maps, slices and pointers
// are copied (roles, servers, env, accessories, databases and their
// replicas, registry, migration, the build), so changing the copy never
// changes a. Funcs (hooks, destination overlays), writers and secret
// sources other than Slipway's own are shared, as they cannot be copied.
func (a App) Clone() App {
	c := a
	c.Build = cloneBuilder(a.Build)
	if a.Registry != nil {
		r := *a.Registry
		c.Registry = &r
	}
	c.Roles = cloneRoles(a.Roles)
	c.Env = a.Env.clone()
	c.Volumes = slices.Clone(a.Volumes)
	c.Labels = maps.Clone(a.Labels)
	c.Logging.Options = maps.Clone(a.Logging.Options)
	if a.Migrate != nil {
		m := *a.Migrate
		m.Cmd = slices.Clone(m.Cmd)
		c.Migrate = &m
	}
	c.Secrets = cloneSecrets(a.Secrets)
	c.Databases = cloneDatabases(a.Databases)
	c.Accessories = cloneAccessories(a.Accessories)
	c.Destinations = maps.Clone(a.Destinations)
	return c
}

// cloneBuilder copies Slipway's own builders; another Builder is shared.
func cloneBuilder(b image.Builder) image.Builder {
	switch g := b.(type) {
	case image.Go:
		g.Args, g.Env, g.Ports, g.Flags = slices.Clone(g.Args), slices.Clone(g.Env), slices.Clone(g.Ports), slices.Clone(g.Flags)
		g.Labels = maps.Clone(g.Labels)
		return g
	case *image.Go:
		if g == nil {
			return b
		}
		c := cloneBuilder(*g).(image.Go)
		return &c
	case image.Dockerfile:
		g.Args, g.Labels = maps.Clone(g.Args), maps.Clone(g.Labels)
		return g
	case *image.Dockerfile:
		if g == nil {
			return b
		}
		c := cloneBuilder(*g).(image.Dockerfile)
		return &c
	}
	return b
}

// cloneSecrets copies Slipway's own secret sources; another is shared.
func cloneSecrets(s secret.Source) secret.Source {
	switch cs := s.(type) {
	case secret.Command:
		cs.Args = slices.Clone(cs.Args)
		return cs
	case secret.Chain:
		c := make(secret.Chain, len(cs))
		for i, src := range cs {
			c[i] = cloneSecrets(src)
		}
		return c
	}
	return s
}

func cloneDatabases(dbs []Database) []Database {
	if dbs == nil {
		return nil
	}
	c := slices.Clone(dbs)
	for i, d := range c {
		if d.Replica == nil {
			continue
		}
		r := *d.Replica
		if r.S3 != nil {
			s := *r.S3
			s.Secrets = cloneSecrets(s.Secrets) // one secret.Source type now, in both packages
			r.S3 = &s
		}
		c[i].Replica = &r
	}
	return c
}

func cloneAccessories(accs map[string]Accessory) map[string]Accessory {
	if accs == nil {
		return nil
	}
	c := make(map[string]Accessory, len(accs))
	for name, acc := range accs {
		acc.Build = cloneBuilder(acc.Build)
		if acc.Registry != nil {
			r := *acc.Registry
			acc.Registry = &r
		}
		acc.Roles = slices.Clone(acc.Roles)
		acc.Servers = cloneServers(acc.Servers)
		acc.Cmd = slices.Clone(acc.Cmd)
		acc.Env = acc.Env.clone()
		acc.Volumes = slices.Clone(acc.Volumes)
		acc.Ports = slices.Clone(acc.Ports)
		acc.Files = maps.Clone(acc.Files)
		acc.Labels = maps.Clone(acc.Labels)
		acc.Logging.Options = maps.Clone(acc.Logging.Options)
		acc.Options = acc.Options.clone()
		c[name] = acc
	}
	return c
}

func (o ContainerOptions) clone() ContainerOptions {
	o.ExtraHosts = slices.Clone(o.ExtraHosts)
	return o
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
		r.Logging.Options = maps.Clone(r.Logging.Options)
		r.Options = r.Options.clone()
		if r.Proxy != nil {
			p := *r.Proxy
			p.Hosts = slices.Clone(p.Hosts)
			p.BindIPs = slices.Clone(p.BindIPs)
			p.SSLRedirect, p.ForwardHeaders, p.StripPathPrefix = cloneBool(p.SSLRedirect), cloneBool(p.ForwardHeaders), cloneBool(p.StripPathPrefix)
			if p.Balancer != nil {
				b := *p.Balancer
				b.Servers, b.Hosts, b.SSLRedirect = cloneServers(b.Servers), slices.Clone(b.Hosts), cloneBool(b.SSLRedirect)
				p.Balancer = &b
			}
			r.Proxy = &p
		}
		r.Health = cloneGate(r.Health)
		c[name] = r
	}
	return c
}

// cloneBool copies a *bool, so an overlay that sets it leaves the base alone.
func cloneBool(b *bool) *bool {
	if b == nil {
		return nil
	}
	v := *b
	return &v
}

// cloneGate copies the gates that hold slices; the others are plain values.
func cloneGate(g health.Gate) health.Gate {
	switch c := g.(type) {
	case health.Command:
		c.Cmd = slices.Clone(c.Cmd)
		return c
	case *health.Command:
		if c == nil {
			return g
		}
		cc := *c
		cc.Cmd = slices.Clone(cc.Cmd)
		return &cc
	case *health.HTTP:
		if c == nil {
			return g
		}
		cc := *c
		return &cc
	case *health.TCP:
		if c == nil {
			return g
		}
		cc := *c
		return &cc
	case *health.Docker:
		if c == nil {
			return g
		}
		cc := *c
		return &cc
	case *health.Running:
		if c == nil {
			return g
		}
		cc := *c
		return &cc
	}
	return g
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
	s.Env = s.Env.clone()
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
