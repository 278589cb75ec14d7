package deploy

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/deploy/ssh"
)

// Labels Slipway puts on every container it starts; observing a host
// finds an app's containers by them.
const (
	LabelService     = "slipway.service"
	LabelRole        = "slipway.role"
	LabelDestination = "slipway.destination"
	LabelVersion     = "slipway.version"
	LabelAccessory   = "slipway.accessory"
)

// Names are joined with dashes that may also be inside their parts, so
// two apps can get one name: service "shop" with role "web-admin" and
// service "shop-web" with role "admin" are both shop-web-admin, for their
// containers and their kamal-proxy service, and on a shared host one
// would take over the other's route.
//
// Slipway keeps the names and refuses the collision on the host instead
// (nameCollision, from every observation) of changing the scheme. A new scheme would
// rename everything that runs today: a rollback finds its retained
// containers by name, so every retained release would be lost, and
// kamal-proxy would be handed a second service for hosts the old one
// holds, which it refuses; every host of every app would need a one-time
// migration, itself a deploy that can fail halfway. A collision needs two
// apps on one host, and every container there carries labels saying
// whose it is, so it is found before anything changes, and the error
// names both apps. It also catches an app whose base config and a
// destination collide (role "web-prod", and role "web" in destination
// "prod").

// ErrNameCollision is a host where a container of another app, role or
// destination has a name this app would use.
var ErrNameCollision = errors.New("name collision")

// nameOwner is whom a Slipway container belongs to, read from its labels.
type nameOwner struct {
	service, role, accessory, destination string
}

// String names the owner for an error: `role "admin" of app "shop-web"`.
func (o nameOwner) String() string {
	s := fmt.Sprintf("role %q of app %q", o.role, o.service)
	if o.accessory != "" {
		s = fmt.Sprintf("accessory %q of app %q", o.accessory, o.service)
	}
	if o.destination != "" {
		s += fmt.Sprintf(" (destination %q)", o.destination)
	}
	return s
}

// nameCollision refuses host when one of the containers listed there
// belongs to someone else under a name a would use: a role's
// service-role[-destination] (its containers' names and its kamal-proxy
// service) or an accessory's container name.
func nameCollision(a App, host string, containers []engine.Container) error {
	ours := map[string]nameOwner{}
	for _, role := range a.rolesOn(host) {
		ours[ProxyService(a, role)] = nameOwner{service: a.Service, role: role, destination: a.Destination}
	}
	for _, acc := range sortedKeys(a.Accessories) {
		if slices.Contains(a.accessoryHosts(acc), host) {
			ours[AccessoryName(a, acc)] = nameOwner{service: a.Service, accessory: acc, destination: a.Destination}
		}
	}
	for _, c := range containers {
		service := c.Labels[LabelService]
		if service == "" {
			continue
		}
		theirs := nameOwner{service: service, role: c.Labels[LabelRole], accessory: c.Labels[LabelAccessory], destination: c.Labels[LabelDestination]}
		name := ProxyService(App{Service: service, Destination: theirs.destination}, theirs.role)
		if theirs.accessory != "" {
			// Accessory containers carry no destination label, and
			// their name has no version: the name is the name.
			name, theirs.destination = c.Name, ""
		}
		us, ok := ours[name]
		if !ok || us == theirs || theirs.accessory != "" && us.service == theirs.service && us.accessory == theirs.accessory {
			continue
		}
		return fmt.Errorf("%w: %s and %s are both named %s (containers and kamal-proxy service), and container %s runs on this host: rename a role or the service of one; Slipway names are service-role[-destination]",
			ErrNameCollision, us, theirs, name, c.Name)
	}
	return nil
}

// AccessoryName is service-accessory[-destination], the accessory's
// container name on each of its hosts.
func AccessoryName(a App, accessory string) string {
	return ProxyService(a, accessory)
}

// accessoryHosts lists the hosts an accessory runs on, in app host order.
func (a App) accessoryHosts(name string) []string {
	acc := a.Accessories[name]
	var hosts []string
	seen := map[string]bool{}
	add := func(h string) {
		if !seen[h] {
			seen[h] = true
			hosts = append(hosts, h)
		}
	}
	for _, r := range acc.Roles {
		for _, s := range a.Roles[r].Servers {
			add(s.Host)
		}
	}
	for _, s := range acc.Servers {
		add(s.Host)
	}
	return hosts
}

// ContainerName is service-role[-destination]-version, the name a
// release's container has on every host.
func ContainerName(a App, role, version string) string {
	return ProxyService(a, role) + "-" + version
}

// ProxyService is the name a web role is known by in kamal-proxy:
// service-role[-destination].
func ProxyService(a App, role string) string {
	name := a.Service + "-" + role
	if a.Destination != "" {
		name += "-" + a.Destination
	}
	return name
}

// MigrateName is the name of a release's one-off migration container.
func MigrateName(a App, version string) string {
	return ContainerName(a, "migrate", version)
}

// primaryRole returns the role whose first host boots first.
func (a App) primaryRole() string {
	if a.PrimaryRole != "" {
		return a.PrimaryRole
	}
	if _, ok := a.Roles[DefaultPrimaryRole]; ok || len(a.Roles) == 0 {
		return DefaultPrimaryRole
	}
	return a.roleNames()[0]
}

// roleNames lists roles primary first, then by name.
func (a App) roleNames() []string {
	names := make([]string, 0, len(a.Roles))
	for n := range a.Roles {
		names = append(names, n)
	}
	sort.Strings(names)
	p := a.PrimaryRole
	if p == "" {
		if _, ok := a.Roles[DefaultPrimaryRole]; ok {
			p = DefaultPrimaryRole
		}
	}
	if i := slices.Index(names, p); i > 0 {
		names = append(append([]string{p}, names[:i]...), names[i+1:]...)
	}
	return names
}

// PrimaryHost is the first server of the primary role: it boots first,
// runs the migration and holds the lock.
func (a App) PrimaryHost() string {
	if r, ok := a.Roles[a.primaryRole()]; ok && len(r.Servers) > 0 {
		return r.Servers[0].Host
	}
	return ""
}

// HostNames lists every host of the app once: the primary role's in
// order, then each other role's, then accessory-only servers, then
// balancer-only servers (see Balancer).
func (a App) HostNames() []string {
	hosts := a.roleHosts()
	seen := map[string]bool{}
	for _, h := range hosts {
		seen[h] = true
	}
	for _, name := range sortedKeys(a.Accessories) {
		for _, s := range a.Accessories[name].Servers {
			if !seen[s.Host] {
				seen[s.Host] = true
				hosts = append(hosts, s.Host)
			}
		}
	}
	for _, s := range a.balancerServers() {
		if !seen[s.Host] {
			seen[s.Host] = true
			hosts = append(hosts, s.Host)
		}
	}
	return hosts
}

// roleHosts lists the hosts that run roles, primary role's first.
func (a App) roleHosts() []string {
	var hosts []string
	seen := map[string]bool{}
	for _, role := range a.roleNames() {
		for _, s := range a.Roles[role].Servers {
			if !seen[s.Host] {
				seen[s.Host] = true
				hosts = append(hosts, s.Host)
			}
		}
	}
	return hosts
}

// server returns the Server value for host (the first role naming it wins).
func (a App) server(host string) Server {
	for _, role := range a.roleNames() {
		for _, s := range a.Roles[role].Servers {
			if s.Host == host {
				return s
			}
		}
	}
	for _, name := range sortedKeys(a.Accessories) {
		for _, s := range a.Accessories[name].Servers {
			if s.Host == host {
				return s
			}
		}
	}
	for _, s := range a.balancerServers() {
		if s.Host == host {
			return s
		}
	}
	return Server{Host: host}
}

// rolesOn lists the roles that run on host, primary first.
func (a App) rolesOn(host string) []string {
	var roles []string
	for _, role := range a.roleNames() {
		for _, s := range a.Roles[role].Servers {
			if s.Host == host {
				roles = append(roles, role)
				break
			}
		}
	}
	return roles
}

func (a App) retain() int {
	if a.Retain <= 0 {
		return DefaultRetain
	}
	return a.Retain
}

func (a App) network() string {
	if a.Network == "" {
		return DefaultNetwork
	}
	return a.Network
}

func (p Proxy) image() string {
	if p.Image == "" {
		return DefaultProxyImage
	}
	return p.Image
}

func (p Proxy) appPort() int {
	if p.AppPort == 0 {
		return DefaultAppPort
	}
	return p.AppPort
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// envFor merges the app's, the role's and, on host, its server's env
// (Server.Env): clear values, each level over the one before, and the
// secret names of all three, sorted. host "" leaves the server's out.
func (a App) envFor(role, host string) (clear map[string]string, secrets []string) {
	clear = map[string]string{}
	r := a.Roles[role]
	levels := []Env{a.Env, r.Env}
	if host != "" {
		for _, s := range r.Servers {
			if s.Host == host {
				levels = append(levels, s.Env)
				break
			}
		}
	}
	for _, e := range levels {
		maps.Copy(clear, e.Clear)
		for _, s := range e.Secret {
			if !slices.Contains(secrets, s) {
				secrets = append(secrets, s)
			}
		}
	}
	sort.Strings(secrets)
	return clear, secrets
}

func (a App) labelsFor(role, version string) map[string]string {
	l := map[string]string{}
	for k, v := range a.Labels {
		l[k] = v
	}
	for k, v := range a.Roles[role].Labels {
		l[k] = v
	}
	l[LabelService] = a.Service
	l[LabelRole] = role
	l[LabelVersion] = version
	if a.Destination != "" {
		l[LabelDestination] = a.Destination
	}
	return l
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// quoteArgs shows a command as a shell would take it.
func quoteArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = ssh.Quote(a)
	}
	return strings.Join(q, " ")
}
