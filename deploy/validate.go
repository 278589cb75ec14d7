package deploy

import (
	"errors"
	"fmt"
	"net"
	"path"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/deploy/proxy"
	"github.com/slipwayhq/slipway/health"
	"github.com/slipwayhq/slipway/replicate"
)

// Problem is one thing wrong with one field of an App or a Release.
type Problem struct {
	// Field is the field's path as a user would write it:
	// "roles.web.servers[1].host", "env.clear.DATABASE_URL",
	// `labels["slipway.role"]`.
	Field string
	// Message says what is wrong, what was given and what to do.
	Message string
}

// String returns "field: message".
func (p Problem) String() string { return p.Field + ": " + p.Message }

// ValidationError lists every problem found at once, in a stable order:
// the order of the fields in the App, with map entries sorted by key.
type ValidationError struct {
	Problems []Problem
}

// Error returns every problem on its own line.
func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Validate returns nil or a *ValidationError listing every problem with
// the App, each with its field path. Validate the App you deploy: a
// base App whose destinations fill in its servers is valid only after
// ForDestination. A base App's Validate also applies each destination's
// overlay, to report any two of them (or the base and one) that would
// write one replica.
func (a App) Validate() error {
	var v validator
	v.app(a)
	return v.err()
}

// maxJumpDepth bounds a chain of bastions, so that a cycle of Jump
// pointers is reported instead of followed forever.
const maxJumpDepth = 8

// minMemory is the smallest memory limit Docker accepts.
const minMemory = 6 << 20

var (
	// envNameRe is a portable environment variable name.
	envNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	// accessoryEnvNameRe is an accessory's clear env name: anything
	// Docker takes, no "=" and no space or control character.
	accessoryEnvNameRe = regexp.MustCompile(`^[^=\s\x00-\x1f\x7f]+$`)
	// volumeRe is "name:/path" with an optional ":ro" or ":rw".
	volumeRe = regexp.MustCompile(`^([A-Za-z0-9][A-Za-z0-9_.-]*):(/[^:]*)(?::(ro|rw))?$`)
	// imagePathRe is one path component of an image repository.
	imagePathRe = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$`)
	// loginRe is a login name, a little wider than POSIX's.
	loginRe = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$`)
	// networkRe is a Docker network name.
	networkRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
	// simpleKeyRe is a map key that needs no quoting in a field path.
	simpleKeyRe = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
)

// validator collects problems.
type validator struct {
	problems []Problem
	// envNames, when set, is what a clear env name may be instead of
	// envNameRe: an accessory's image may read names such as
	// "discovery.type" (Elasticsearch), which Docker passes through.
	envNames *regexp.Regexp
}

func (v *validator) add(field, msg string) {
	v.problems = append(v.problems, Problem{Field: field, Message: msg})
}

func (v *validator) addf(field, format string, args ...any) {
	v.add(field, fmt.Sprintf(format, args...))
}

// addGate adds what a health gate's ValidateAt found under field.
func (v *validator) addGate(field string, errs []error) {
	for _, err := range errs {
		if fe, ok := errors.AsType[*health.FieldError](err); ok {
			v.add(fe.Field, fe.Problem)
		} else {
			v.add(field, err.Error())
		}
	}
}

func (v *validator) err() error {
	if len(v.problems) == 0 {
		return nil
	}
	return &ValidationError{Problems: v.problems}
}

// fieldPath joins a path and a field name with a dot.
func fieldPath(p, name string) string {
	if p == "" {
		return name
	}
	return p + "." + name
}

// keyPath names a map entry: p.key, or p["key"] when the key holds
// anything but letters, digits, "_" and "-".
func keyPath(p, key string) string {
	if simpleKeyRe.MatchString(key) {
		return fieldPath(p, key)
	}
	return p + "[" + strconv.Quote(key) + "]"
}

// indexPath names a slice element: p[i].
func indexPath(p string, i int) string { return p + "[" + strconv.Itoa(i) + "]" }

func (v *validator) app(a App) {
	v.name("service", a.Service, `name the app, such as "hello"`)
	v.image("image", a.Image)

	roles := sortedKeys(a.Roles)
	if len(a.Roles) == 0 {
		v.add("roles", `must have at least one role, such as "web" with a Proxy`)
	}
	for _, name := range roles {
		p := keyPath("roles", name)
		v.name(p, name, "")
		if name == "migrate" && a.Migrate != nil {
			v.add(p, `"migrate" names the migration's container; rename the role`)
		}
		v.role(a, p, a.Roles[name])
		if px := a.Roles[name].Proxy; px != nil {
			v.balancer(a, p+".proxy.balancer", name, *px)
		}
	}
	v.sharedHosts(a, roles)
	v.sharedProxies(a, roles)
	v.handoff(a)

	if a.PrimaryRole != "" && len(a.Roles) > 0 {
		if _, ok := a.Roles[a.PrimaryRole]; !ok {
			v.addf("primaryRole", "no role %q; known roles: %s", a.PrimaryRole, strings.Join(roles, ", "))
		}
	}
	v.env("env", a.Env)
	v.volumes("volumes", a.Volumes)
	v.labels("labels", a.Labels)
	v.logging("logging", a.Logging)
	v.boot("boot", a.Boot)
	if a.Retain < 0 {
		v.addf("retain", "must not be negative; 0 keeps %d, got %d", DefaultRetain, a.Retain)
	}
	v.network("network", a.Network)
	if m := a.Migrate; m != nil {
		if len(m.Cmd) == 0 {
			v.add("migrate.cmd", `must name a command to run, such as []string{"/app", "migrate"}`)
		}
		v.args("migrate.cmd", m.Cmd)
		if m.Role != "" && len(a.Roles) > 0 {
			if _, ok := a.Roles[m.Role]; !ok {
				v.addf("migrate.role", "no role %q; known roles: %s", m.Role, strings.Join(roles, ", "))
			}
		}
	}
	for _, name := range sortedKeys(a.Accessories) {
		v.accessory(keyPath("accessories", name), name, a.Accessories[name], a, roles)
	}
	v.databases(a, roles)
	for _, name := range sortedKeys(a.Destinations) {
		v.name(keyPath("destinations", name), name, "")
	}
	if a.Destination != "" {
		v.name("destination", a.Destination, "")
	} else {
		v.destinationReplicas(a)
	}
}

// name checks a service, role or destination name: it becomes part of
// container names and kamal-proxy service names.
func (v *validator) name(field, s, example string) {
	switch {
	case s == "":
		msg := "must not be empty"
		if example != "" {
			msg += "; " + example
		}
		v.add(field, msg)
	case strings.ContainsFunc(s, func(c rune) bool { return !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') }):
		v.addf(field, "must be lower-case letters, digits and dashes, got %q", s)
	case s[0] == '-' || s[len(s)-1] == '-':
		v.addf(field, "must start and end with a letter or digit, got %q", s)
	}
}

// image checks App.Image: a repository, which each release tags.
func (v *validator) image(field, ref string) {
	switch {
	case ref == "":
		v.add(field, `must not be empty; set the image repository, such as "ghcr.io/acme/hello"`)
		return
	case strings.ContainsFunc(ref, isSpaceOrControl):
		v.addf(field, "must be an image repository without spaces, got %q", ref)
		return
	case strings.Contains(ref, "@"):
		v.addf(field, "must be a repository without a digest; each release adds its version as the tag (set Release.Image to run an exact reference), got %q", ref)
		return
	case strings.Contains(ref[strings.LastIndex(ref, "/")+1:], ":"):
		v.addf(field, "must be a repository without a tag; each release adds its version as the tag, got %q", ref)
		return
	}
	parts := strings.Split(ref, "/")
	if len(parts) > 1 && (strings.ContainsAny(parts[0], ".:") || parts[0] == "localhost") {
		parts = parts[1:] // a registry host, where case and ports are allowed
	}
	for _, part := range parts {
		if !imagePathRe.MatchString(part) {
			v.addf(field, "must be a repository of lower-case letters, digits and separators (\".\", \"_\", \"-\") between \"/\", got %q", ref)
			return
		}
	}
}

func (v *validator) role(a App, p string, r Role) {
	if len(r.Servers) == 0 {
		v.add(p+".servers", `must list at least one server, such as deploy.Hosts("203.0.113.10")`)
	}
	first := map[string]int{}
	for i, s := range r.Servers {
		sp := indexPath(p+".servers", i)
		v.server(sp, s, 0)
		v.env(sp+".env", s.Env, envLevel{"env", a.Env}, envLevel{p + ".env", r.Env})
		if s.Host == "" {
			continue
		}
		if j, ok := first[s.Host]; ok {
			v.addf(sp+".host", "%q is already listed at servers[%d]; list each host once", s.Host, j)
		} else {
			first[s.Host] = i
		}
	}
	v.args(p+".cmd", r.Cmd)
	v.env(p+".env", r.Env, envLevel{"env", a.Env})
	v.labels(p+".labels", r.Labels)
	v.options(p+".options", r.Options)
	v.logging(p+".logging", r.Logging)
	v.stopTimeout(p+".stopTimeout", r.StopTimeout)
	if r.Proxy != nil {
		v.proxy(p+".proxy", *r.Proxy, len(r.Servers))
	}
	if r.Health != nil {
		if r.Proxy != nil {
			v.add(p+".health", "a role behind the proxy is gated by proxy.health; remove health or the proxy")
		} else {
			v.addGate(p+".health", r.Health.ValidateAt(p+".health"))
		}
	}
}

func (v *validator) server(p string, s Server, depth int) {
	switch {
	case s.Host == "":
		v.add(p+".host", "must not be empty")
	case strings.ContainsFunc(s.Host, isSpaceOrControl):
		v.addf(p+".host", "must be a host name or IP address without spaces, got %q", s.Host)
	case strings.Contains(s.Host, "@"):
		v.addf(p+".host", "must be a host name or IP address; put the login name in user, got %q", s.Host)
	case strings.Contains(s.Host, "/"):
		v.addf(p+".host", "must be a host name or IP address, without a scheme or path, got %q", s.Host)
	case strings.Contains(s.Host, ":") && net.ParseIP(s.Host) == nil:
		v.addf(p+".host", "must be a host name or IP address; put the port in port, got %q", s.Host)
	}
	v.port(p+".port", s.Port, 22)
	if s.User != "" && !loginRe.MatchString(s.User) {
		v.addf(p+".user", "must be a login name of at most 32 letters, digits, \"_\", \".\" and \"-\", got %q", s.User)
	}
	if s.DockerSocket != "" && !strings.HasPrefix(s.DockerSocket, "/") {
		v.addf(p+".dockerSocket", "must be an absolute path on the host, such as /var/run/docker.sock, got %q", s.DockerSocket)
	}
	if s.ConnectTimeout < 0 {
		v.addf(p+".connectTimeout", "must not be negative (0 means the default), got %s", s.ConnectTimeout)
	}
	for i, f := range s.KeyFiles {
		if f == "" {
			v.add(indexPath(p+".keyFiles", i), "must not be empty")
		}
	}
	if s.Jump != nil {
		if depth >= maxJumpDepth {
			v.addf(p+".jump", "chains more than %d bastions; is it a cycle?", maxJumpDepth)
			return
		}
		v.server(p+".jump", *s.Jump, depth+1)
	}
}

func (v *validator) port(field string, port, def int) {
	if port < 0 || port > 65535 {
		v.addf(field, "must be between 1 and 65535, or 0 for %d, got %d", def, port)
	}
}

// args checks a command: the program must be named. A later argument
// may be empty, as in redis-server --save "".
func (v *validator) args(p string, cmd []string) {
	if len(cmd) > 0 && cmd[0] == "" {
		v.add(indexPath(p, 0), "must not be empty")
	}
}

// envLevel is an Env an inner one is merged over, and its field path.
type envLevel struct {
	path string
	env  Env
}

// env checks an Env at p; outers are the Envs it is merged over (the
// App's for a role's, the App's and the role's for a server's), so that
// a name is clear at one level and secret at another is caught.
func (v *validator) env(p string, e Env, outers ...envLevel) {
	for _, k := range sortedKeys(e.Clear) {
		f := keyPath(p+".clear", k)
		switch {
		case v.envNames == nil && !envNameRe.MatchString(k):
			v.addf(f, "must be a name of letters, digits and \"_\", not starting with a digit, got %q", k)
		case v.envNames != nil && !v.envNames.MatchString(k):
			v.addf(f, "must be a name without \"=\" or spaces, got %q", k)
		}
		if slices.Contains(e.Secret, k) {
			v.addf(f, "%q is also in %s.secret; a name is either clear or secret", k, p)
		}
		for _, o := range outers {
			if slices.Contains(o.env.Secret, k) {
				v.addf(f, "%q is also in %s.secret; a name is either clear or secret", k, o.path)
			}
		}
	}
	first := map[string]int{}
	for i, k := range e.Secret {
		f := indexPath(p+".secret", i)
		if k == "" {
			v.add(f, "must not be empty")
			continue
		}
		if !envNameRe.MatchString(k) {
			v.addf(f, "must be a name of letters, digits and \"_\", not starting with a digit, got %q", k)
		}
		if j, ok := first[k]; ok {
			v.addf(f, "%q is already listed at secret[%d]; list each secret once", k, j)
			continue
		}
		first[k] = i
		for _, o := range outers {
			if _, ok := o.env.Clear[k]; ok {
				v.addf(f, "%q is also in %s.clear; a name is either clear or secret", k, o.path)
			}
		}
	}
}

func (v *validator) volumes(p string, vols []string) {
	mounts := map[string]int{}
	for i, vol := range vols {
		f := indexPath(p, i)
		m := volumeRe.FindStringSubmatch(vol)
		if m == nil || path.Clean(m[2]) == "/" {
			v.addf(f, `must be "name:/path", "name:/path:ro" or "name:/path:rw" (a named volume and an absolute path in the container), got %q`, vol)
			continue
		}
		target := path.Clean(m[2])
		if j, ok := mounts[target]; ok {
			v.addf(f, "mounts %s again (volumes[%d] already does); mount each path once", target, j)
			continue
		}
		mounts[target] = i
	}
}

// reservedLabelPrefix marks the labels Slipway finds its containers by.
const reservedLabelPrefix = "slipway."

func (v *validator) labels(p string, labels map[string]string) {
	for _, k := range sortedKeys(labels) {
		switch {
		case k == "":
			v.add(keyPath(p, k), "a label needs a name")
		case strings.HasPrefix(strings.ToLower(k), reservedLabelPrefix):
			v.addf(keyPath(p, k), "the %q prefix is reserved for Slipway's own labels; choose another name", reservedLabelPrefix)
		}
	}
}

func (v *validator) options(p string, o ContainerOptions) {
	if o.Memory < 0 || o.Memory > 0 && o.Memory < minMemory {
		v.addf(p+".memory", "must be at least %d bytes (6 MiB), or 0 for no limit, got %d", minMemory, o.Memory)
	}
	if o.CPUs < 0 {
		v.addf(p+".cpus", "must not be negative; 0 means no limit, got %g", o.CPUs)
	}
	if !validRestart(o.Restart) {
		v.addf(p+".restart", `must be "no", "always", "unless-stopped", "on-failure" or "on-failure:N", got %q`, o.Restart)
	}
	if strings.ContainsFunc(o.User, isSpaceOrControl) {
		v.addf(p+".user", "must be a user name or uid[:gid] without spaces, got %q", o.User)
	}
	for i, h := range o.ExtraHosts {
		name, addr, ok := strings.Cut(h, ":")
		if !ok || name == "" || strings.ContainsFunc(name, isSpaceOrControl) || addr != "host-gateway" && net.ParseIP(addr) == nil {
			v.addf(indexPath(p+".extraHosts", i), `must be "name:address", such as "db:10.0.0.5" or "host.docker.internal:host-gateway", got %q`, h)
		}
	}
}

func validRestart(r string) bool {
	switch r {
	case "", "no", "always", "unless-stopped", "on-failure":
		return true
	}
	n, ok := strings.CutPrefix(r, "on-failure:")
	if !ok {
		return false
	}
	i, err := strconv.Atoi(n)
	return err == nil && i > 0
}

// logSizeRe is a size in the engine's log-opt syntax: "10m", "500k", "1g".
var logSizeRe = regexp.MustCompile(`^[1-9][0-9]*[kmg]?$`)

func (v *validator) proxy(p string, px Proxy, servers int) {
	first := map[string]int{}
	for i, h := range px.Hosts {
		f := indexPath(p+".hosts", i)
		if !isHostName(h) {
			v.addf(f, "must be a host name such as \"app.example.com\" or \"*.example.com\", without scheme, port or path, got %q", h)
			continue
		}
		k := strings.ToLower(h)
		if j, ok := first[k]; ok {
			v.addf(f, "%q is already listed at hosts[%d]; list each host once", h, j)
			continue
		}
		first[k] = i
	}
	v.port(p+".appPort", px.AppPort, DefaultAppPort)
	custom := px.TLSCertificate != "" || px.TLSPrivateKey != ""
	switch {
	case custom && len(px.Hosts) == 0:
		v.add(p+".hosts", "a custom certificate needs the host names it is for in hosts")
	case px.TLS && !custom && len(px.Hosts) == 0:
		v.add(p+".tls", "automatic HTTPS needs at least one host name in hosts")
	case px.TLS && !custom && servers > 1:
		v.addf(p+".tls", "automatic HTTPS gets its certificate on one server, and this role has %d: each would ask Let's Encrypt for its own and fail the challenges the others answer; set tlsCertificate and tlsPrivateKey to a certificate for %s, or run the role on one server", servers, strings.Join(px.Hosts, ", "))
	case px.TLS && !custom:
		for i, h := range px.Hosts {
			if strings.HasPrefix(h, "*.") {
				v.addf(indexPath(p+".hosts", i), "automatic HTTPS cannot get a certificate for the wildcard %q (Let's Encrypt needs a DNS challenge for it); set tlsCertificate and tlsPrivateKey to a wildcard certificate", h)
			}
		}
	}
	for _, c := range []struct{ field, name, other string }{
		{"tlsCertificate", px.TLSCertificate, px.TLSPrivateKey},
		{"tlsPrivateKey", px.TLSPrivateKey, px.TLSCertificate},
	} {
		switch {
		case c.name == "" && c.other != "":
			v.add(p+"."+c.field, "must name the secret that holds it: a custom certificate needs both tlsCertificate and tlsPrivateKey")
		case c.name != "" && !envNameRe.MatchString(c.name):
			v.addf(p+"."+c.field, "must be a secret name of letters, digits and \"_\", not starting with a digit, got %q", c.name)
		}
	}
	if custom && px.TLSCertificate == px.TLSPrivateKey {
		v.add(p+".tlsPrivateKey", "names the same secret as tlsCertificate; keep the key in a secret of its own")
	}
	if px.SSLRedirect != nil && !px.TLS && !custom {
		v.add(p+".sslRedirect", "redirects plain HTTP to HTTPS, which needs TLS on; set tls or remove sslRedirect")
	}
	switch pp := px.PathPrefix; {
	case pp == "":
		if px.StripPathPrefix != nil {
			v.add(p+".stripPathPrefix", "has no effect without pathPrefix; set pathPrefix or remove it")
		}
	case !strings.HasPrefix(pp, "/"):
		v.addf(p+".pathPrefix", "must start with \"/\", such as \"/api\", got %q", pp)
	case strings.ContainsFunc(pp, isSpaceOrControl) || strings.ContainsAny(pp, "?#,*") || strings.Contains(pp, "//") || path.Clean(pp) != strings.TrimSuffix(pp, "/") && pp != "/":
		v.addf(p+".pathPrefix", "must be a clean path without spaces, \"?\", \"#\", \",\", \"*\", \"..\" or \"//\", such as \"/api\", got %q", pp)
	case (px.TLS || custom) && pp != "/":
		v.add(p+".pathPrefix", "kamal-proxy sets TLS on the route of the root path only; route this role without tls (the root path's role on these hosts sets it), or drop pathPrefix")
	}
	for i, ip := range px.BindIPs {
		if net.ParseIP(ip) == nil {
			v.addf(indexPath(p+".bindIPs", i), "must be an IP address of the host, such as \"10.0.0.5\" or \"0.0.0.0\", got %q", ip)
		}
	}
	v.port(p+".metricsPort", px.MetricsPort, 0)
	if m := px.MetricsPort; m != 0 && (m == orDefault(px.HTTPPort, 80) || m == orDefault(px.HTTPSPort, 443)) {
		v.addf(p+".metricsPort", "must differ from httpPort and httpsPort, got %d", m)
	}
	if px.LogMaxSize != "" && !logSizeRe.MatchString(px.LogMaxSize) {
		v.addf(p+".logMaxSize", "must be a size such as \"10m\", \"500k\" or \"1g\" (\"\" means %s), got %q", proxy.DefaultLogMaxSize, px.LogMaxSize)
	}
	v.addGate(p+".health", px.Health.ValidateAt(p+".health"))
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"responseTimeout", px.ResponseTimeout}, {"deployTimeout", px.DeployTimeout}, {"drainTimeout", px.DrainTimeout}} {
		if d.v < 0 {
			v.addf(p+"."+d.name, "must not be negative; 0 means the default, got %s", d.v)
		}
	}
	if strings.ContainsFunc(px.Image, isSpaceOrControl) {
		v.addf(p+".image", "must be an image reference without spaces, got %q", px.Image)
	}
	v.port(p+".httpPort", px.HTTPPort, 80)
	v.port(p+".httpsPort", px.HTTPSPort, 443)
	if orDefault(px.HTTPPort, 80) == orDefault(px.HTTPSPort, 443) {
		v.addf(p+".httpsPort", "must differ from httpPort (both are %d)", orDefault(px.HTTPPort, 80))
	}
}

// isHostName reports whether h is a DNS name, optionally with a leading
// "*." wildcard label.
func isHostName(h string) bool {
	h = strings.TrimPrefix(h, "*.")
	if h == "" || len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		if strings.ContainsFunc(label, func(c rune) bool {
			return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-')
		}) {
			return false
		}
	}
	return true
}

func (v *validator) boot(p string, b Boot) {
	if b.Limit < 0 {
		v.addf(p+".limit", "must not be negative; 0 boots every host at once, got %d", b.Limit)
	}
	if b.LimitPercent < 0 || b.LimitPercent > 100 {
		v.addf(p+".limitPercent", "must be between 1 and 100, or 0 for no limit, got %d", b.LimitPercent)
	}
	if b.Limit != 0 && b.LimitPercent != 0 {
		v.add(p, "set limit or limitPercent, not both")
	}
	if b.Wait < 0 {
		v.addf(p+".wait", "must not be negative, got %s", b.Wait)
	}
}

func (v *validator) network(field, n string) {
	switch {
	case n == "":
	case !networkRe.MatchString(n):
		v.addf(field, "must be letters, digits, \"_\", \".\" and \"-\", starting with a letter or digit, got %q", n)
	case n == "bridge" || n == "host" || n == "none":
		v.addf(field, "%q is one of Docker's own networks, where containers cannot reach each other by name; use one of your own, such as %q", n, DefaultNetwork)
	}
}

// sharedHosts checks that a host listed by several roles is reached the
// same way from each: the executor keeps one connection per host.
func (v *validator) sharedHosts(a App, roles []string) {
	type seen struct {
		field string
		s     Server
	}
	first := map[string]seen{}
	for _, role := range roles {
		for i, s := range a.Roles[role].Servers {
			if s.Host == "" {
				continue
			}
			f := indexPath(keyPath("roles", role)+".servers", i)
			prev, ok := first[s.Host]
			if !ok {
				first[s.Host] = seen{f, s}
				continue
			}
			if strings.HasPrefix(prev.field, keyPath("roles", role)+".") {
				continue // a duplicate within the role, reported already
			}
			if diff := connectionDiff(prev.s, s); len(diff) > 0 {
				v.addf(f, "host %q is also %s with a different %s; reach a host the same way in every role",
					s.Host, prev.field, strings.Join(diff, ", "))
			}
		}
	}
}

// connectionDiff names the fields that make a and b reach their host
// differently.
func connectionDiff(a, b Server) []string {
	var diff []string
	if orDefault(a.Port, 22) != orDefault(b.Port, 22) {
		diff = append(diff, "port")
	}
	if orDefault(a.User, "root") != orDefault(b.User, "root") {
		diff = append(diff, "user")
	}
	if orDefault(a.DockerSocket, "/var/run/docker.sock") != orDefault(b.DockerSocket, "/var/run/docker.sock") {
		diff = append(diff, "dockerSocket")
	}
	if (a.Jump == nil) != (b.Jump == nil) || a.Jump != nil && (a.Jump.Host != b.Jump.Host || orDefault(a.Jump.Port, 22) != orDefault(b.Jump.Port, 22) || a.Jump.User != b.Jump.User) {
		diff = append(diff, "jump")
	}
	if !slices.Equal(a.KeyFiles, b.KeyFiles) {
		diff = append(diff, "keyFiles")
	}
	if a.KnownHosts != b.KnownHosts || a.TrustOnFirstUse != b.TrustOnFirstUse {
		diff = append(diff, "host key checking")
	}
	return diff
}

// sharedProxies checks roles behind the proxy that share a server: they
// share its one kamal-proxy, so they need distinct host names and the
// same proxy image and ports.
func (v *validator) sharedProxies(a App, roles []string) {
	var proxied []string
	for _, role := range roles {
		if a.Roles[role].Proxy != nil {
			proxied = append(proxied, role)
		}
	}
	for j, later := range proxied {
		for _, earlier := range proxied[:j] {
			host, ok := sharedHost(a.Roles[earlier].Servers, a.Roles[later].Servers)
			if !ok {
				continue
			}
			pe, pl := a.Roles[earlier].Proxy, a.Roles[later].Proxy
			p := keyPath("roles", later) + ".proxy"
			samePath := orDefault(strings.TrimSuffix(pe.PathPrefix, "/"), "") == orDefault(strings.TrimSuffix(pl.PathPrefix, "/"), "")
			if samePath && (len(pe.Hosts) == 0 || len(pl.Hosts) == 0) {
				v.addf(p+".hosts", "roles %s and %s share the proxy on %s, so each needs hosts of its own; set distinct hosts on both, or distinct pathPrefix",
					earlier, later, host)
			} else if h, ok := sharedName(pe.Hosts, pl.Hosts); ok && samePath {
				v.addf(p+".hosts", "%q is also routed to role %s on %s; roles sharing a proxy need distinct hosts, or distinct pathPrefix", h, earlier, host)
			}
			if why := ProxyFingerprint(pl.boot("")).Changes(ProxyFingerprint(pe.boot(""))); len(why) > 0 {
				var other []string
				for _, w := range why {
					if !slices.Contains([]string{"image changed", "http-port changed", "https-port changed"}, w) {
						other = append(other, strings.TrimSuffix(w, " changed"))
					}
				}
				if len(other) > 0 {
					v.addf(p, "kamal-proxy's %s differ from role %s's on %s; roles on one server share one kamal-proxy, so set them alike", strings.Join(other, ", "), earlier, host)
				}
			}
			if ie, il := orDefault(pe.Image, DefaultProxyImage), orDefault(pl.Image, DefaultProxyImage); ie != il {
				v.addf(p+".image", "%q differs from role %s's %q on %s; roles on one server share one kamal-proxy", il, earlier, ie, host)
			}
			if e, l := orDefault(pe.HTTPPort, 80), orDefault(pl.HTTPPort, 80); e != l {
				v.addf(p+".httpPort", "%d differs from role %s's %d on %s; roles on one server share one kamal-proxy", l, earlier, e, host)
			}
			if e, l := orDefault(pe.HTTPSPort, 443), orDefault(pl.HTTPSPort, 443); e != l {
				v.addf(p+".httpsPort", "%d differs from role %s's %d on %s; roles on one server share one kamal-proxy", l, earlier, e, host)
			}
		}
	}
}

// sharedHost returns the first host of b that a also lists.
func sharedHost(a, b []Server) (string, bool) {
	for _, sb := range b {
		for _, sa := range a {
			if sb.Host != "" && sa.Host == sb.Host {
				return sb.Host, true
			}
		}
	}
	return "", false
}

// sharedName returns the first name of b that a also lists, ignoring case.
func sharedName(a, b []string) (string, bool) {
	for _, nb := range b {
		for _, na := range a {
			if strings.EqualFold(na, nb) {
				return nb, true
			}
		}
	}
	return "", false
}

func isSpaceOrControl(c rune) bool { return c <= ' ' || c == 0x7f }

// accessory checks one accessory: where it runs, its image and its env.
func (v *validator) accessory(p, name string, acc Accessory, a App, roles []string) {
	v.name(p, name, "")
	if _, clash := a.Roles[name]; clash {
		v.addf(p, "%q is also a role; accessory and role containers would share a name", name)
	}
	if strings.TrimSpace(acc.Image) == "" || strings.ContainsAny(acc.Image, " \t\n") {
		v.addf(p+".image", "must be an image reference, such as \"litestream/litestream:0.5\", got %q", acc.Image)
	}
	if len(acc.Roles) == 0 && len(acc.Servers) == 0 {
		v.add(p+".roles", "must name a role or list servers to run on")
	}
	for i, r := range acc.Roles {
		if _, ok := a.Roles[r]; !ok {
			v.addf(indexPath(p+".roles", i), "no role %q; known roles: %s", r, strings.Join(roles, ", "))
		}
	}
	for i, s := range acc.Servers {
		sp := indexPath(p+".servers", i)
		v.server(sp, s, 0)
		if len(s.Env.Clear) > 0 || len(s.Env.Secret) > 0 {
			v.addf(sp+".env", "an accessory's server takes no env of its own; set %s.env", p)
		}
	}
	v.args(p+".cmd", acc.Cmd)
	for _, f := range sortedKeys(acc.Files) {
		if !strings.HasPrefix(f, "/") || strings.HasSuffix(f, "/") {
			v.addf(keyPath(p+".files", f), "must be an absolute file path in the container, such as /etc/litestream.yml")
		}
	}
	v.envNames = accessoryEnvNameRe
	v.env(p+".env", acc.Env)
	v.envNames = nil
	v.volumes(p+".volumes", acc.Volumes)
	v.labels(p+".labels", acc.Labels)
	if acc.Drift != DriftReboot && acc.Drift != DriftReport {
		v.addf(p+".drift", "must be DriftReboot or DriftReport, got %v", acc.Drift)
	}
	v.logging(p+".logging", acc.Logging)
	v.stopTimeout(p+".stopTimeout", acc.StopTimeout)
}

// databaseNameRe is a database's Name: it names the database in output
// and in its replica's env.
var databaseNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// databases checks each Database: where it lives (one host, inside a
// volume), how it is replicated, and that no two share a name or a
// replica.
func (v *validator) databases(a App, roles []string) {
	names := map[string]int{}
	prefixes := map[string]int{}
	replicas := map[string]int{}
	sidecarRoles := map[string]int{}
	for i, d := range a.Databases {
		p := indexPath("databases", i)
		switch {
		case d.Name != "" && !databaseNameRe.MatchString(d.Name):
			v.addf(p+".name", "must be letters, digits, \"_\", \".\" and \"-\", starting with a letter or digit, got %q", d.Name)
		case d.Path != "" || d.Name != "":
			field := p + ".path"
			if d.Name != "" {
				field = p + ".name"
			}
			if j, ok := names[d.name()]; ok {
				v.addf(field, "names the database %q, as databases[%d] does; give each database a name of its own (Name)", d.name(), j)
			} else if j, ok := prefixes[replicate.EnvPrefix(d.name())]; ok {
				v.addf(field, "names the database %q, whose replica env (%s*) is also databases[%d]'s (%q); give each database a name of its own (Name)",
					d.name(), replicate.EnvPrefix(d.name()), j, a.Databases[j].name())
			} else {
				names[d.name()] = i
				prefixes[replicate.EnvPrefix(d.name())] = i
			}
		}
		v.databasePath(p+".path", d.Path, a.Volumes)

		role := d.role(a)
		r, ok := a.Roles[role]
		switch {
		case !ok && d.Role == "":
			v.addf(p+".role", "is empty, which means the primary role %q, and there is no such role; name the role that writes the database; known roles: %s", role, strings.Join(roles, ", "))
		case !ok:
			v.addf(p+".role", "no role %q; name the role whose containers write the database; known roles: %s", role, strings.Join(roles, ", "))
		case len(r.Servers) > 1:
			hosts := make([]string, len(r.Servers))
			for j, s := range r.Servers {
				hosts[j] = s.Host
			}
			v.addf(p+".role", "role %s runs on %d servers (%s), but a SQLite database lives on one host: each host would hold its own copy of %s, "+
				"so users would see different data from each and their replicators would write over one replica. "+
				"Run role %s on one server, or move the other servers to a role without the database",
				role, len(r.Servers), strings.Join(hosts, ", "), d.name(), role)
		}

		switch d.Replication {
		case ReplicateEmbedded, ReplicateSidecar:
		default:
			v.addf(p+".replication", "must be ReplicateEmbedded or ReplicateSidecar, got %d", int(d.Replication))
		}
		if d.StartFirst && d.Replication != ReplicateSidecar {
			v.add(p+".startFirst", "is allowed only with sidecar replication: a start-first deploy runs the old and the new container together, "+
				"and each would run its own replicator on the database for the overlap (two writers on one replica). "+
				"Remove startFirst (the role then deploys by handoff, one container at a time) or set replication to ReplicateSidecar")
		}
		if d.Replica == nil {
			if d.Replication == ReplicateSidecar {
				v.add(p+".replica", "sidecar replication needs a replica: set Replica, or remove Replication")
			}
			if d.SidecarImage != "" {
				v.add(p+".sidecarImage", "is set, but the database is not replicated by a sidecar; remove it")
			}
			continue
		}
		rp := p + ".replica"
		if d.Replica.DB != "" && d.Replica.DB != d.Path {
			v.addf(rp+".db", "%q differs from path %q; leave it empty (it is the database's path)", d.Replica.DB, d.Path)
		}
		rep, _ := d.replica(a)
		for _, err := range rep.ValidateAt(rp) {
			if fe, ok := errors.AsType[*replicate.FieldError](err); ok {
				if fe.Field == rp+".db" && d.Replica.DB == "" {
					continue // the database's path, reported at path
				}
				v.add(fe.Field, fe.Problem)
			} else {
				v.add(rp, err.Error())
			}
		}
		if rep.S3 != nil && rep.S3.Bucket != "" {
			if j, ok := replicas[rep.Location()]; ok {
				v.addf(rp+".s3.path", "%s is also the replica of databases[%d]; two replicators must never write one replica, so give each database a path of its own", rep, j)
			} else {
				replicas[rep.Location()] = i
			}
		}
		if d.Replication == ReplicateSidecar {
			if j, ok := sidecarRoles[role]; ok {
				first := a.Databases[j]
				if first.SidecarImage != d.SidecarImage {
					v.addf(p+".sidecarImage", "%q differs from databases[%d]'s %q; the databases of role %s share one sidecar", d.SidecarImage, j, first.SidecarImage, role)
				}
			} else {
				sidecarRoles[role] = i
			}
		} else {
			if d.SidecarImage != "" {
				v.add(p+".sidecarImage", "is set, but the database is replicated by the app (embedded); remove it or set replication to ReplicateSidecar")
			}
			v.replicaEnv(p, a, role, d, rep)
		}
	}
	v.sidecars(a, sidecarRoles)
}

// databasePath checks that a database file lies in a volume the role's
// containers mount read-write: anywhere else it would go with the
// release's container at the next deploy.
func (v *validator) databasePath(field, p string, volumes []string) {
	switch {
	case p == "":
		v.add(field, `must not be empty; the database file in the role's containers, such as "/data/app.db"`)
		return
	case !path.IsAbs(p):
		v.addf(field, "must be an absolute path in the role's containers, such as \"/data/app.db\", got %q", p)
		return
	case path.Clean(p) != p || strings.HasSuffix(p, "/"):
		v.addf(field, "must be a clean path to a file, such as %q, got %q", path.Clean(p), p)
		return
	}
	i, ok := volumeHolding(volumes, p)
	if !ok {
		v.addf(field, "%s lies in none of the app's volumes, so the database would live in the container and be lost with it at the next deploy; "+
			"mount a volume at its directory, such as volumes: []string{\"app-data:%s\"}", p, path.Dir(p))
		return
	}
	if readOnly(volumes[i]) {
		v.addf(field, "%s lies in volumes[%d] (%s), which is mounted read-only; mount it read-write", p, i, volumes[i])
	}
}

// replicaEnv checks that the env a database's embedded replica travels
// in clashes with nothing the user set: a name set by hand to another
// value, or a credential name set as a clear value.
func (v *validator) replicaEnv(p string, a App, role string, d Database, rep replicate.Replica) {
	clear, secrets := rep.Env(d.name())
	renv := a.Roles[role].Env
	for _, k := range sortedKeys(clear) {
		for _, e := range []struct {
			env   Env
			field string
		}{{a.Env, "env"}, {renv, keyPath("roles", role) + ".env"}} {
			if val, ok := e.env.Clear[k]; ok && val != clear[k] {
				v.addf(keyPath(e.field+".clear", k), "is set by %s.replica (the replica's env); remove it here and change the replica instead", p)
			}
			if slices.Contains(e.env.Secret, k) {
				v.addf(e.field+".secret", "%q is set by %s.replica as a clear value; remove it here", k, p)
			}
		}
	}
	for _, k := range secrets {
		for _, e := range []struct {
			env   Env
			field string
		}{{a.Env, "env"}, {renv, keyPath("roles", role) + ".env"}} {
			if _, ok := e.env.Clear[k]; ok {
				v.addf(keyPath(e.field+".clear", k), "is the credential secret of %s.replica; a credential travels as a secret, never a clear value: move it to secret", p)
			}
		}
	}
}

// sidecars checks the accessories derived for sidecar-replicated
// databases (by role, with the first database of each): one sidecar per
// role, taking a name no accessory of the user's has.
func (v *validator) sidecars(a App, roles map[string]int) {
	if len(roles) == 0 {
		return
	}
	derived, err := a.derive()
	if err != nil {
		return // the replica problems are reported already
	}
	for _, role := range sortedKeys(roles) {
		name := SidecarAccessoryName(role)
		have, ok := a.Accessories[name]
		if ok && !reflect.DeepEqual(have, derived.Accessories[name]) {
			v.addf(keyPath("accessories", name), "is the name of the Litestream sidecar Slipway adds for databases[%d] (sidecar replication); "+
				"remove this accessory (a second sidecar would be a second replicator) or rename it", roles[role])
		}
	}
}

// destinationReplicas applies each destination's overlay to a base App
// and reports any replica two of them, or the base and one, would
// share: two replicators must never write one replica.
func (v *validator) destinationReplicas(a App) {
	if len(a.Destinations) == 0 {
		return
	}
	type owner struct {
		destination string
		db          int
	}
	seen := map[string]owner{}
	where := func(o owner) string {
		if o.destination == "" {
			return fmt.Sprintf("the base App's databases[%d]", o.db)
		}
		return fmt.Sprintf("destination %s's databases[%d]", o.destination, o.db)
	}
	claim := func(app App, destination string) {
		for i, d := range app.Databases {
			rep, ok := d.replica(app)
			if !ok || rep.S3 == nil || rep.S3.Bucket == "" {
				continue
			}
			loc := rep.Location()
			prev, taken := seen[loc]
			if !taken {
				seen[loc] = owner{destination, i}
				continue
			}
			if prev.destination == destination {
				continue // within one App, reported by its own validation
			}
			v.addf(keyPath("destinations", destination), "databases[%d]'s replica %s is also %s: both would replicate into it, overwriting each other's history. "+
				"Leave the replica's bucket and path as the base's in the overlay (its path then becomes \"%s/<base path>\") or give each destination a bucket or path of its own",
				i, rep, where(prev), destination)
		}
	}
	claim(a, "")
	for _, name := range sortedKeys(a.Destinations) {
		d, err := overlaid(a, name)
		if err != nil {
			v.addf(keyPath("destinations", name), "%v; fix the overlay, or the base App it expects", err)
			continue
		}
		claim(d, name)
	}
}

// overlaid is ForDestination, with an overlay's panic (such as an index
// into a role the base App does not have) turned into an error.
func overlaid(a App, name string) (d App, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("applying the overlay panicked: %v", p)
		}
	}()
	return a.ForDestination(name)
}
