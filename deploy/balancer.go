package deploy

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/slipwayhq/slipway/deploy/proxy"
)

// Balancer is a kamal-proxy in front of a web role's hosts: one entry
// point (one address for DNS, one host for an automatic certificate)
// that spreads requests over the hosts' own kamal-proxies. A rolling
// deploy switches each web host's traffic locally, as without a
// balancer; the balancer's route changes only when the role gains or
// loses a host, and then as one gated `kamal-proxy deploy` of the new
// list of targets, which moves traffic only once every target answers
// its health check. A web host whose new release fails its gate is
// drained from the balancer before the deploy returns its error, and put
// back by the next deploy that succeeds on it.
//
// The balancer's kamal-proxy is booted like a web host's, with the
// role's Proxy image, ports and run options. Its route has the role's
// kamal-proxy service name (ProxyService) and health check path.
//
// Behind a balancer a web host's route also answers for the host's own
// address (Server.Host), since kamal-proxy sends its health checks to a
// target with the target's address as the Host header, and passes the
// client's X-Forwarded-* headers on to the app (Proxy.ForwardHeaders
// defaults to true there).
type Balancer struct {
	// Servers are the balancer hosts. Each runs a kamal-proxy with one
	// route for the role. A balancer server must not be a host of the
	// role it balances; automatic TLS needs exactly one.
	Servers []Server
	// Hosts are the host names the balancer routes to the role; none
	// means the role's Proxy.Hosts (and when those are none too, any
	// host name).
	Hosts []string
	// TLS turns on automatic HTTPS (Let's Encrypt) on the balancer for
	// Hosts: it needs one balancer server, at least one host name and no
	// wildcard, as Proxy.TLS does. TLS terminates on the balancer, so
	// the web hosts need no certificate: leave the role's Proxy.TLS unset.
	TLS bool
	// SSLRedirect says whether plain HTTP to Hosts is redirected to
	// HTTPS when TLS is on; nil means kamal-proxy's default, true.
	SSLRedirect *bool
	// TargetPort is the port the web hosts' kamal-proxies listen on, as
	// the balancer reaches them at each server's Host; 0 means the
	// role's Proxy.HTTPPort (80 when that is unset).
	TargetPort int
}

// BalancerTargets lists the targets the balancer of role sends to, one
// per server of the role, "host:port", in the role's server order; nil
// when the role has no balancer.
func BalancerTargets(a App, role string) []string {
	px := a.Roles[role].Proxy
	if px == nil || px.Balancer == nil {
		return nil
	}
	port := px.Balancer.TargetPort
	if port == 0 {
		port = orDefault(px.HTTPPort, 80)
	}
	var targets []string
	for _, s := range a.Roles[role].Servers {
		targets = append(targets, targetAddr(s.Host, port))
	}
	return targets
}

func targetAddr(host string, port int) string {
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return host + ":" + strconv.Itoa(port)
}

// balancedRoles lists the roles that have a balancer, primary first.
func (a App) balancedRoles() []string {
	var roles []string
	for _, role := range a.roleNames() {
		if px := a.Roles[role].Proxy; px != nil && px.Balancer != nil {
			roles = append(roles, role)
		}
	}
	return roles
}

// balancedOn lists the roles that host is a balancer of.
func (a App) balancedOn(host string) []string {
	var roles []string
	for _, role := range a.balancedRoles() {
		for _, s := range a.Roles[role].Proxy.Balancer.Servers {
			if s.Host == host {
				roles = append(roles, role)
				break
			}
		}
	}
	return roles
}

// balancerServers lists the balancer servers of every role, each host once.
func (a App) balancerServers() []Server {
	var out []Server
	for _, role := range a.balancedRoles() {
		for _, s := range a.Roles[role].Proxy.Balancer.Servers {
			if !slices.ContainsFunc(out, func(o Server) bool { return o.Host == s.Host }) {
				out = append(out, s)
			}
		}
	}
	return out
}

// balancerService is the balancer's `kamal-proxy deploy` of role over
// targets: the role's host names (or the balancer's own), health check
// and timeouts, with the balancer's TLS.
func balancerService(a App, role string, targets []string) *proxy.Service {
	px := a.Roles[role].Proxy
	b := px.Balancer
	svc := routeOf(a, role)
	svc.Targets = slices.Clone(targets)
	svc.Hosts = slices.Clone(b.Hosts)
	if len(b.Hosts) == 0 {
		svc.Hosts = slices.Clone(px.Hosts)
	}
	svc.TLS = b.TLS
	svc.TLSRedirect = b.SSLRedirect
	return svc
}

// behindBalancer adjusts a web host's route for a balancer in front of
// it: the route answers for the host's own address too, which
// kamal-proxy's health checks of a target send as the Host header, and
// passes the client's X-Forwarded-* headers on unless the Proxy says
// otherwise. host "" (a fingerprint's host-independent route) adds no
// address.
func behindBalancer(px *Proxy, svc *proxy.Service, host string) {
	if px.Balancer == nil {
		return
	}
	if svc.ForwardHeaders == nil {
		svc.ForwardHeaders = Bool(true)
	}
	if host != "" && len(svc.Hosts) > 0 && !slices.Contains(svc.Hosts, host) {
		svc.Hosts = append(slices.Clone(svc.Hosts), host)
	}
}

// splitTargets reads a route's targets as `kamal-proxy list` shows
// them, "a:80,b:80".
func splitTargets(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// sameTargets reports whether two target lists hold the same targets,
// in any order: kamal-proxy balances over a set.
func sameTargets(a, b []string) bool {
	x, y := slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b))
	return slices.Equal(x, y)
}

// validateBalancer checks role's Proxy.Balancer at p (its
// ".proxy.balancer" path).
func (v *validator) balancer(a App, p string, role string, px Proxy) {
	b := px.Balancer
	if b == nil {
		return
	}
	if len(b.Servers) == 0 {
		v.add(p+".servers", `must list the balancer's server, such as deploy.Hosts("203.0.113.9")`)
	}
	first := map[string]int{}
	for i, s := range b.Servers {
		sp := indexPath(p+".servers", i)
		v.server(sp, s, 0)
		if j, ok := first[s.Host]; ok {
			v.addf(sp+".host", "%q is already listed at servers[%d]; list each host once", s.Host, j)
			continue
		}
		first[s.Host] = i
		if slices.Contains(a.rolesOn(s.Host), role) {
			v.addf(sp+".host", "%s is a server of role %s too: a balancer sends to the role's hosts' own kamal-proxies and cannot be one of them; put the balancer on another server, or drop %s from the role's servers", s.Host, role, s.Host)
		}
	}
	hosts := b.Hosts
	hostsField := p + ".hosts"
	if len(hosts) == 0 {
		hosts, hostsField = px.Hosts, strings.TrimSuffix(p, ".balancer")+".hosts"
	}
	for i, h := range b.Hosts {
		if !isHostName(h) {
			v.addf(indexPath(p+".hosts", i), "must be a host name such as \"app.example.com\", without scheme, port or path, got %q", h)
		}
	}
	switch {
	case b.TLS && len(hosts) == 0:
		v.add(p+".tls", "automatic HTTPS needs at least one host name: set hosts here or on the role's proxy")
	case b.TLS && len(b.Servers) > 1:
		v.addf(p+".tls", "automatic HTTPS gets its certificate on one server, and this balancer has %d: each would ask Let's Encrypt for its own and fail the challenges the others answer; keep one balancer server", len(b.Servers))
	case b.TLS:
		for i, h := range hosts {
			if strings.HasPrefix(h, "*.") {
				v.addf(indexPath(hostsField, i), "automatic HTTPS on the balancer cannot get a certificate for the wildcard %q (Let's Encrypt needs a DNS challenge for it); list the host names it serves", h)
			}
		}
	}
	if b.SSLRedirect != nil && !b.TLS {
		v.add(p+".sslRedirect", "redirects plain HTTP to HTTPS, which needs TLS on; set tls or remove sslRedirect")
	}
	pp := strings.TrimSuffix(p, ".balancer")
	if px.TLS || px.TLSCertificate != "" {
		v.add(pp+".tls", "TLS terminates on the balancer: the web hosts behind it serve plain HTTP and need no certificate; set balancer.tls instead, and unset tls, tlsCertificate and tlsPrivateKey here")
	}
	if px.PathPrefix != "" {
		v.add(pp+".pathPrefix", "a balancer routes every path of its host names to the role; drop pathPrefix or the balancer")
	}
	v.port(p+".targetPort", b.TargetPort, orDefault(px.HTTPPort, 80))
}

// describeBalancer is a StepBalancerDeploy's line in a plan print.
func (st Step) describeBalancer() string {
	px := st.Proxy
	s := fmt.Sprintf("balance %s over %s once %s passes on every target", px.Name, strings.Join(px.Targets, ", "), px.HealthPath)
	if len(px.Hosts) > 0 {
		s += " for " + strings.Join(px.Hosts, ", ")
	}
	if px.TLS {
		s += " with TLS"
		if px.TLSRedirect != nil && !*px.TLSRedirect {
			s += ", plain HTTP served too"
		}
	}
	var added, drained []string
	for _, t := range px.Targets {
		if !slices.Contains(st.Old, t) {
			added = append(added, t)
		}
	}
	for _, t := range st.Old {
		if !slices.Contains(px.Targets, t) {
			drained = append(drained, t)
		}
	}
	switch {
	case len(st.Old) == 0:
		s += " (new route)"
	default:
		var parts []string
		if len(added) > 0 {
			parts = append(parts, "adds "+strings.Join(added, ", "))
		}
		if len(drained) > 0 {
			parts = append(parts, "drains "+strings.Join(drained, ", ")+"; a host no longer in the role keeps its containers ("+px.Name+"-VERSION) running, which hold no data: stop them there with docker stop")
		}
		if len(parts) == 0 {
			parts = append(parts, "same targets, new settings")
		}
		s += " (was " + strings.Join(st.Old, ", ") + "; " + strings.Join(parts, "; ") + ")"
	}
	return s
}
