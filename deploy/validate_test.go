package deploy

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/health"
)

// validApp is an App with every part set, and valid.
func validApp() App {
	return App{
		Service: "hello",
		Image:   "ghcr.io/acme/hello",
		Roles: Roles{
			"web": {
				Servers: Hosts("10.0.0.1", "10.0.0.2"),
				Proxy: &Proxy{
					Hosts: []string{"hello.example.com"}, AppPort: 3000, TLS: true,
					TLSCertificate: "HELLO_TLS_CERT", TLSPrivateKey: "HELLO_TLS_KEY",
					Health: health.HTTP{Path: "/up", Interval: time.Second},
				},
				Options: ContainerOptions{Memory: 512 << 20, Restart: "on-failure:3", ExtraHosts: []string{"db:10.0.0.9"}},
			},
			"jobs": {
				Servers: []Server{{Host: "10.0.0.3", Port: 2222, User: "deploy"}},
				Cmd:     []string{"/hello", "work"},
				Env:     Env{Clear: map[string]string{"QUEUE": "default"}, Secret: []string{"JOBS_TOKEN"}},
				Labels:  map[string]string{"team": "core"},
				Health:  health.Docker{},
			},
		},
		Env: Env{
			Clear:  map[string]string{"DATABASE_PATH": "/data/hello.db"},
			Secret: []string{"SECRET_KEY_BASE"},
		},
		Volumes: []string{"hello-data:/data", "hello-cache:/cache:ro"},
		Labels:  map[string]string{"app": "hello"},
		Boot:    Boot{Limit: 1, Wait: time.Second},
		Retain:  3,
		Migrate: &Migrate{Cmd: []string{"/hello", "migrate"}, Role: "jobs"},
		Destinations: map[string]func(*App){
			"staging": func(a *App) {},
		},
	}
}

// problems returns the problems in err as "field: message" lines.
func problems(t *testing.T, err error) []string {
	t.Helper()
	require.Error(t, err)
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	lines := make([]string, len(ve.Problems))
	for i, p := range ve.Problems {
		lines[i] = p.String()
	}
	return lines
}

func TestValidateAcceptsAValidApp(t *testing.T) {
	require.NoError(t, validApp().Validate())

	t.Run("with the fewest fields", func(t *testing.T) {
		a := App{Service: "a", Image: "hello", Roles: Roles{"web": {Servers: Hosts("h1")}}}
		require.NoError(t, a.Validate())
	})
	t.Run("with registry hosts, IPv6 servers and wildcard proxy hosts", func(t *testing.T) {
		a := validApp()
		a.Image = "localhost:5000/acme/hello-app"
		a.Roles["web"] = Role{Servers: Hosts("2001:db8::1"), Proxy: &Proxy{Hosts: []string{"*.example.com"}}}
		require.NoError(t, a.Validate())
	})
	t.Run("with an empty proxy image, which means the default", func(t *testing.T) {
		a := validApp()
		a.Roles["api"] = Role{Servers: Hosts("10.0.0.1"), Proxy: &Proxy{Hosts: []string{"api.example.com"}, Image: DefaultProxyImage}}
		require.NoError(t, a.Validate())
	})
}

func TestValidateReportsTheFieldOfEachProblem(t *testing.T) {
	tests := []struct {
		name   string
		change func(a *App)
		want   string
	}{
		{"empty service", func(a *App) { a.Service = "" },
			`service: must not be empty; name the app, such as "hello"`},
		{"invalid service", func(a *App) { a.Service = "Hello_App" },
			`service: must be lower-case letters, digits and dashes, got "Hello_App"`},
		{"service ending in a dash", func(a *App) { a.Service = "hello-" },
			`service: must start and end with a letter or digit, got "hello-"`},
		{"empty image", func(a *App) { a.Image = "" },
			`image: must not be empty; set the image repository, such as "ghcr.io/acme/hello"`},
		{"image with a tag", func(a *App) { a.Image = "ghcr.io/acme/hello:latest" },
			`image: must be a repository without a tag; each release adds its version as the tag, got "ghcr.io/acme/hello:latest"`},
		{"image with a digest", func(a *App) { a.Image = "hello@sha256:abc" },
			`image: must be a repository without a digest; each release adds its version as the tag (set Release.Image to run an exact reference), got "hello@sha256:abc"`},
		{"image in upper case", func(a *App) { a.Image = "acme/Hello" },
			`image: must be a repository of lower-case letters, digits and separators (".", "_", "-") between "/", got "acme/Hello"`},
		{"no roles", func(a *App) { a.Roles = nil; a.Migrate = nil },
			`roles: must have at least one role, such as "web" with a Proxy`},
		{"invalid role name", func(a *App) { a.Roles["Web App"] = Role{Servers: Hosts("10.0.0.9")} },
			`roles["Web App"]: must be lower-case letters, digits and dashes, got "Web App"`},
		{"role named migrate beside a migration", func(a *App) { a.Roles["migrate"] = Role{Servers: Hosts("10.0.0.9")} },
			`roles.migrate: "migrate" names the migration's container; rename the role`},
		{"role without servers", func(a *App) { a.Roles["jobs"] = Role{Cmd: []string{"/hello", "work"}} },
			`roles.jobs.servers: must list at least one server, such as deploy.Hosts("203.0.113.10")`},
		{"empty host", func(a *App) { a.Roles["web"].Servers[1].Host = "" },
			`roles.web.servers[1].host: must not be empty`},
		{"host with a port", func(a *App) { a.Roles["web"].Servers[1].Host = "10.0.0.2:22" },
			`roles.web.servers[1].host: must be a host name or IP address; put the port in port, got "10.0.0.2:22"`},
		{"host with a user", func(a *App) { a.Roles["web"].Servers[0].Host = "root@10.0.0.1" },
			`roles.web.servers[0].host: must be a host name or IP address; put the login name in user, got "root@10.0.0.1"`},
		{"duplicate host in a role", func(a *App) { a.Roles["web"].Servers[1].Host = "10.0.0.1" },
			`roles.web.servers[1].host: "10.0.0.1" is already listed at servers[0]; list each host once`},
		{"port out of range", func(a *App) { a.Roles["jobs"].Servers[0].Port = 70000 },
			`roles.jobs.servers[0].port: must be between 1 and 65535, or 0 for 22, got 70000`},
		{"invalid server user", func(a *App) { a.Roles["jobs"].Servers[0].User = "de ploy" },
			`roles.jobs.servers[0].user: must be a login name of at most 32 letters, digits, "_", "." and "-", got "de ploy"`},
		{"relative docker socket", func(a *App) { a.Roles["jobs"].Servers[0].DockerSocket = "docker.sock" },
			`roles.jobs.servers[0].dockerSocket: must be an absolute path on the host, such as /var/run/docker.sock, got "docker.sock"`},
		{"empty jump host", func(a *App) { a.Roles["jobs"].Servers[0].Jump = &Server{} },
			`roles.jobs.servers[0].jump.host: must not be empty`},
		{"a host reached two ways", func(a *App) { a.Roles["jobs"].Servers[0].Host = "10.0.0.1" },
			`roles.web.servers[0]: host "10.0.0.1" is also roles.jobs.servers[0] with a different port, user; reach a host the same way in every role`},
		{"negative retain", func(a *App) { a.Retain = -1 },
			`retain: must not be negative; 0 keeps 5, got -1`},
		{"negative boot limit", func(a *App) { a.Boot.Limit = -2 },
			`boot.limit: must not be negative; 0 boots every host at once, got -2`},
		{"boot percentage over 100", func(a *App) { a.Boot = Boot{LimitPercent: 150} },
			`boot.limitPercent: must be between 1 and 100, or 0 for no limit, got 150`},
		{"both boot limits", func(a *App) { a.Boot.LimitPercent = 50 },
			`boot: set limit or limitPercent, not both`},
		{"negative boot wait", func(a *App) { a.Boot.Wait = -time.Second },
			`boot.wait: must not be negative, got -1s`},
		{"volume without a path", func(a *App) { a.Volumes[0] = "hello-data" },
			`volumes[0]: must be "name:/path", "name:/path:ro" or "name:/path:rw" (a named volume and an absolute path in the container), got "hello-data"`},
		{"volume with a relative path", func(a *App) { a.Volumes[1] = "cache:cache:ro" },
			`volumes[1]: must be "name:/path", "name:/path:ro" or "name:/path:rw" (a named volume and an absolute path in the container), got "cache:cache:ro"`},
		{"volume with a bad mode", func(a *App) { a.Volumes[1] = "cache:/cache:rx" },
			`volumes[1]: must be "name:/path", "name:/path:ro" or "name:/path:rw" (a named volume and an absolute path in the container), got "cache:/cache:rx"`},
		{"two volumes on one path", func(a *App) { a.Volumes[1] = "other:/data/" },
			`volumes[1]: mounts /data again (volumes[0] already does); mount each path once`},
		{"invalid clear env name", func(a *App) { a.Env.Clear["1PATH"] = "x" },
			`env.clear.1PATH: must be a name of letters, digits and "_", not starting with a digit, got "1PATH"`},
		{"invalid secret name", func(a *App) { a.Env.Secret = append(a.Env.Secret, "API-KEY") },
			`env.secret[1]: must be a name of letters, digits and "_", not starting with a digit, got "API-KEY"`},
		{"a name both clear and secret", func(a *App) { a.Env.Secret = append(a.Env.Secret, "DATABASE_PATH") },
			`env.clear.DATABASE_PATH: "DATABASE_PATH" is also in env.secret; a name is either clear or secret`},
		{"a role secret that the app has clear", func(a *App) { a.Roles["jobs"].Env.Secret[0] = "DATABASE_PATH" },
			`roles.jobs.env.secret[0]: "DATABASE_PATH" is also in env.clear; a name is either clear or secret`},
		{"a role clear name that the app has secret", func(a *App) { a.Roles["jobs"].Env.Clear["SECRET_KEY_BASE"] = "oops" },
			`roles.jobs.env.clear.SECRET_KEY_BASE: "SECRET_KEY_BASE" is also in env.secret; a name is either clear or secret`},
		{"duplicate secret", func(a *App) { a.Env.Secret = append(a.Env.Secret, "SECRET_KEY_BASE") },
			`env.secret[1]: "SECRET_KEY_BASE" is already listed at secret[0]; list each secret once`},
		{"proxy app port out of range", func(a *App) { a.Roles["web"].Proxy.AppPort = -1 },
			`roles.web.proxy.appPort: must be between 1 and 65535, or 0 for 80, got -1`},
		{"negative proxy deploy timeout", func(a *App) { a.Roles["web"].Proxy.DeployTimeout = -time.Second },
			`roles.web.proxy.deployTimeout: must not be negative; 0 means the default, got -1s`},
		{"negative proxy drain timeout", func(a *App) { a.Roles["web"].Proxy.DrainTimeout = -time.Second },
			`roles.web.proxy.drainTimeout: must not be negative; 0 means the default, got -1s`},
		{"negative proxy response timeout", func(a *App) { a.Roles["web"].Proxy.ResponseTimeout = -time.Second },
			`roles.web.proxy.responseTimeout: must not be negative; 0 means the default, got -1s`},
		{"proxy host with a scheme", func(a *App) { a.Roles["web"].Proxy.Hosts[0] = "https://hello.example.com" },
			`roles.web.proxy.hosts[0]: must be a host name such as "app.example.com" or "*.example.com", without scheme, port or path, got "https://hello.example.com"`},
		{"TLS without hosts", func(a *App) {
			a.Roles["web"].Proxy.Hosts, a.Roles["web"].Proxy.TLSCertificate, a.Roles["web"].Proxy.TLSPrivateKey = nil, "", ""
		},
			`roles.web.proxy.tls: automatic HTTPS needs at least one host name in hosts`},
		{"a custom certificate without hosts", func(a *App) { a.Roles["web"].Proxy.Hosts = nil },
			`roles.web.proxy.hosts: a custom certificate needs the host names it is for in hosts`},
		{"proxy health path", func(a *App) { a.Roles["web"].Proxy.Health.Path = "up" },
			`roles.web.proxy.health.path: must start with "/", got "up"`},
		{"proxy ports clash", func(a *App) { a.Roles["web"].Proxy.HTTPPort = 443 },
			`roles.web.proxy.httpsPort: must differ from httpPort (both are 443)`},
		{"role health gate", func(a *App) { a.Roles["jobs"] = withHealth(a.Roles["jobs"], health.TCP{Interval: -time.Second}) },
			`roles.jobs.health.interval: must not be negative, got -1s`},
		{"health gate beside a proxy", func(a *App) { a.Roles["web"] = withHealth(a.Roles["web"], health.TCP{}) },
			`roles.web.health: a role behind the proxy is gated by proxy.health; remove health or the proxy`},
		{"two proxied roles on one server without hosts", func(a *App) {
			a.Roles["web"].Proxy.TLS, a.Roles["web"].Proxy.Hosts = false, nil
			a.Roles["web"].Proxy.TLSCertificate, a.Roles["web"].Proxy.TLSPrivateKey = "", ""
			a.Roles["api"] = Role{Servers: Hosts("10.0.0.2"), Proxy: &Proxy{}}
		}, `roles.web.proxy.hosts: roles api and web share the proxy on 10.0.0.2, so each needs hosts of its own; set distinct hosts on both, or distinct pathPrefix`},
		{"two proxied roles on one server with the same host", func(a *App) {
			a.Roles["api"] = Role{Servers: Hosts("10.0.0.1"), Proxy: &Proxy{Hosts: []string{"HELLO.example.com"}}}
		}, `roles.web.proxy.hosts: "hello.example.com" is also routed to role api on 10.0.0.1; roles sharing a proxy need distinct hosts, or distinct pathPrefix`},
		{"two proxied roles on one server with different proxy images", func(a *App) {
			a.Roles["api"] = Role{Servers: Hosts("10.0.0.1"), Proxy: &Proxy{Hosts: []string{"api.example.com"}, Image: "kamal-proxy:dev"}}
		}, `roles.web.proxy.image: "basecamp/kamal-proxy:v0.9.2" differs from role api's "kamal-proxy:dev" on 10.0.0.1; roles on one server share one kamal-proxy`},
		{"automatic TLS on two servers", func(a *App) { a.Roles["web"].Proxy.TLSCertificate, a.Roles["web"].Proxy.TLSPrivateKey = "", "" },
			`roles.web.proxy.tls: automatic HTTPS gets its certificate on one server, and this role has 2: each would ask Let's Encrypt for its own and fail the challenges the others answer; set tlsCertificate and tlsPrivateKey to a certificate for hello.example.com, or run the role on one server`},
		{"automatic TLS for a wildcard host", func(a *App) {
			px := a.Roles["web"].Proxy
			px.TLSCertificate, px.TLSPrivateKey, px.Hosts = "", "", []string{"*.example.com"}
			a.Roles["web"] = Role{Servers: Hosts("10.0.0.1"), Proxy: px}
		}, `roles.web.proxy.hosts[0]: automatic HTTPS cannot get a certificate for the wildcard "*.example.com" (Let's Encrypt needs a DNS challenge for it); set tlsCertificate and tlsPrivateKey to a wildcard certificate`},
		{"a certificate without its key", func(a *App) { a.Roles["web"].Proxy.TLSPrivateKey = "" },
			`roles.web.proxy.tlsPrivateKey: must name the secret that holds it: a custom certificate needs both tlsCertificate and tlsPrivateKey`},
		{"a certificate secret that is no name", func(a *App) { a.Roles["web"].Proxy.TLSCertificate = "tls cert" },
			`roles.web.proxy.tlsCertificate: must be a secret name of letters, digits and "_", not starting with a digit, got "tls cert"`},
		{"the key in the certificate's secret", func(a *App) { a.Roles["web"].Proxy.TLSPrivateKey = "HELLO_TLS_CERT" },
			`roles.web.proxy.tlsPrivateKey: names the same secret as tlsCertificate; keep the key in a secret of its own`},
		{"an SSL redirect without TLS", func(a *App) {
			px := a.Roles["web"].Proxy
			px.TLS, px.TLSCertificate, px.TLSPrivateKey, px.SSLRedirect = false, "", "", Bool(true)
		}, `roles.web.proxy.sslRedirect: redirects plain HTTP to HTTPS, which needs TLS on; set tls or remove sslRedirect`},
		{"a path prefix without its slash", func(a *App) { a.Roles["web"].Proxy.PathPrefix = "api" },
			`roles.web.proxy.pathPrefix: must start with "/", such as "/api", got "api"`},
		{"a path prefix that is no clean path", func(a *App) { a.Roles["web"].Proxy.PathPrefix = "/api/../admin" },
			`roles.web.proxy.pathPrefix: must be a clean path without spaces, "?", "#", ",", "*", ".." or "//", such as "/api", got "/api/../admin"`},
		{"a path prefix with TLS", func(a *App) { a.Roles["web"].Proxy.PathPrefix = "/api" },
			`roles.web.proxy.pathPrefix: kamal-proxy sets TLS on the route of the root path only; route this role without tls (the root path's role on these hosts sets it), or drop pathPrefix`},
		{"stripping a prefix there is not", func(a *App) { a.Roles["web"].Proxy.StripPathPrefix = Bool(false) },
			`roles.web.proxy.stripPathPrefix: has no effect without pathPrefix; set pathPrefix or remove it`},
		{"a bind address that is no IP", func(a *App) { a.Roles["web"].Proxy.BindIPs = []string{"localhost"} },
			`roles.web.proxy.bindIPs[0]: must be an IP address of the host, such as "10.0.0.5" or "0.0.0.0", got "localhost"`},
		{"metrics on the HTTPS port", func(a *App) { a.Roles["web"].Proxy.MetricsPort = 443 },
			`roles.web.proxy.metricsPort: must differ from httpPort and httpsPort, got 443`},
		{"a log cap in megabytes by words", func(a *App) { a.Roles["web"].Proxy.LogMaxSize = "10MB" },
			`roles.web.proxy.logMaxSize: must be a size such as "10m", "500k" or "1g" ("" means 10m), got "10MB"`},
		{"two proxied roles on one server with different run options", func(a *App) {
			a.Roles["api"] = Role{Servers: Hosts("10.0.0.1"), Proxy: &Proxy{Hosts: []string{"api.example.com"}, Debug: true, MetricsPort: 9090}}
		}, `roles.web.proxy: kamal-proxy's debug, metrics-port differ from role api's on 10.0.0.1; roles on one server share one kamal-proxy, so set them alike`},
		{"migration without a command", func(a *App) { a.Migrate.Cmd = nil },
			`migrate.cmd: must name a command to run, such as []string{"/app", "migrate"}`},
		{"migration on an unknown role", func(a *App) { a.Migrate.Role = "db" },
			`migrate.role: no role "db"; known roles: jobs, web`},
		{"unknown primary role", func(a *App) { a.PrimaryRole = "api" },
			`primaryRole: no role "api"; known roles: jobs, web`},
		{"reserved app label", func(a *App) { a.Labels["slipway.role"] = "x" },
			`labels["slipway.role"]: the "slipway." prefix is reserved for Slipway's own labels; choose another name`},
		{"reserved role label", func(a *App) { a.Roles["jobs"].Labels["Slipway.version"] = "x" },
			`roles.jobs.labels["Slipway.version"]: the "slipway." prefix is reserved for Slipway's own labels; choose another name`},
		{"empty command", func(a *App) { a.Roles["jobs"].Cmd[0] = "" },
			`roles.jobs.cmd[0]: must not be empty`},
		{"empty migration argument", func(a *App) { a.Migrate.Cmd[0] = "" },
			`migrate.cmd[0]: must not be empty`},
		{"memory in megabytes by mistake", func(a *App) { a.Roles["web"] = withMemory(a.Roles["web"], 512) },
			`roles.web.options.memory: must be at least 6291456 bytes (6 MiB), or 0 for no limit, got 512`},
		{"unknown restart policy", func(a *App) { a.Roles["web"] = withRestart(a.Roles["web"], "sometimes") },
			`roles.web.options.restart: must be "no", "always", "unless-stopped", "on-failure" or "on-failure:N", got "sometimes"`},
		{"Docker's own network", func(a *App) { a.Network = "bridge" },
			`network: "bridge" is one of Docker's own networks, where containers cannot reach each other by name; use one of your own, such as "slipway"`},
		{"invalid destination name", func(a *App) { a.Destinations["Prod"] = nil },
			`destinations.Prod: must be lower-case letters, digits and dashes, got "Prod"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := validApp()
			tt.change(&a)
			assert.Equal(t, []string{tt.want}, problems(t, a.Validate()))
		})
	}
}

func TestValidateAcceptsRolesSharingAHostByPathPrefix(t *testing.T) {
	a := validApp()
	a.Roles["api"] = Role{Servers: Hosts("10.0.0.1"), Proxy: &Proxy{Hosts: []string{"hello.example.com"}, PathPrefix: "/api",
		StripPathPrefix: Bool(false), ForwardHeaders: Bool(true)}}
	assert.NoError(t, a.Validate(), "the root path's role sets TLS for both")
}

func withHealth(r Role, g health.Gate) Role { r.Health = g; return r }

func withMemory(r Role, m int64) Role { r.Options.Memory = m; return r }

func withRestart(r Role, p string) Role { r.Options.Restart = p; return r }

func TestValidateReportsEveryProblemAtOnce(t *testing.T) {
	a := App{
		Service: "Hello_App",
		Image:   "hello:v1",
		Roles: Roles{
			"web": {
				Servers: []Server{{Host: "10.0.0.1"}, {Host: ""}, {Host: "10.0.0.1", Port: 99999}},
				Proxy:   &Proxy{AppPort: 70000, DrainTimeout: -time.Second, Health: health.HTTP{Path: "up"}},
			},
			"jobs": {Cmd: []string{""}},
		},
		PrimaryRole: "api",
		Env:         Env{Clear: map[string]string{"A": "1"}, Secret: []string{"A", "B", "B"}},
		Volumes:     []string{"data"},
		Labels:      map[string]string{"slipway.service": "x"},
		Boot:        Boot{Limit: 2, LimitPercent: 101, Wait: -time.Second},
		Retain:      -1,
		Migrate:     &Migrate{Role: "db"},
	}
	err := a.Validate()
	want := []string{
		`service: must be lower-case letters, digits and dashes, got "Hello_App"`,
		`image: must be a repository without a tag; each release adds its version as the tag, got "hello:v1"`,
		`roles.jobs.servers: must list at least one server, such as deploy.Hosts("203.0.113.10")`,
		`roles.jobs.cmd[0]: must not be empty`,
		`roles.web.servers[1].host: must not be empty`,
		`roles.web.servers[2].port: must be between 1 and 65535, or 0 for 22, got 99999`,
		`roles.web.servers[2].host: "10.0.0.1" is already listed at servers[0]; list each host once`,
		`roles.web.proxy.appPort: must be between 1 and 65535, or 0 for 80, got 70000`,
		`roles.web.proxy.health.path: must start with "/", got "up"`,
		`roles.web.proxy.drainTimeout: must not be negative; 0 means the default, got -1s`,
		`primaryRole: no role "api"; known roles: jobs, web`,
		`env.clear.A: "A" is also in env.secret; a name is either clear or secret`,
		`env.secret[2]: "B" is already listed at secret[1]; list each secret once`,
		`volumes[0]: must be "name:/path", "name:/path:ro" or "name:/path:rw" (a named volume and an absolute path in the container), got "data"`,
		`labels["slipway.service"]: the "slipway." prefix is reserved for Slipway's own labels; choose another name`,
		`boot.limitPercent: must be between 1 and 100, or 0 for no limit, got 101`,
		`boot: set limit or limitPercent, not both`,
		`boot.wait: must not be negative, got -1s`,
		`retain: must not be negative; 0 keeps 5, got -1`,
		`migrate.cmd: must name a command to run, such as []string{"/app", "migrate"}`,
		`migrate.role: no role "db"; known roles: jobs, web`,
	}
	assert.Equal(t, want, problems(t, err))
	assert.Equal(t, strings.Join(want, "\n"), err.Error(), "Error prints one problem a line")
	for range 10 {
		assert.Equal(t, err.Error(), a.Validate().Error(), "the order is stable")
	}
}

func TestValidateDoesNotFollowAJumpCycle(t *testing.T) {
	a := validApp()
	bastion := &Server{Host: "bastion"}
	bastion.Jump = bastion
	a.Roles["jobs"].Servers[0].Jump = bastion
	got := problems(t, a.Validate())
	assert.Equal(t, []string{
		`roles.jobs.servers[0].jump.jump.jump.jump.jump.jump.jump.jump.jump: chains more than 8 bastions; is it a cycle?`,
	}, got)
}

func TestReleaseValidate(t *testing.T) {
	tests := []struct {
		name string
		r    Release
		want string
	}{
		{"empty version", Release{}, `version: must not be empty; use GitVersion or set one, such as "v42"`},
		{"version with a slash", Release{Version: "feature/x"},
			`version: must be letters, digits, "_", "." and "-" (it becomes an image tag and part of container names), got "feature/x"`},
		{"version starting with a dash", Release{Version: "-x"}, `version: must start with a letter, digit or "_", got "-x"`},
		{"version too long", Release{Version: strings.Repeat("a", 129)}, `version: must be at most 128 characters, got 129`},
		{"image with a space", Release{Version: "v1", Image: "hello: v1"}, `image: must be an image reference without spaces, got "hello: v1"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, []string{tt.want}, problems(t, tt.r.Validate()))
		})
	}
	t.Run("accepts a git version", func(t *testing.T) {
		require.NoError(t, Release{Version: "0123456789ab-dirty"}.Validate())
		require.NoError(t, Release{Version: strings.Repeat("a", 128), Image: "ghcr.io/acme/hello@sha256:00"}.Validate())
	})
}

// What Docker takes and Kamal configs write is valid: an empty argument
// after the program (redis-server --save ""), and an accessory's env
// name that is no shell name (Elasticsearch's discovery.type). A role's
// env names stay shell names.
func TestValidateAcceptsWhatDockerTakes(t *testing.T) {
	a := validApp()
	jobs := a.Roles["jobs"]
	jobs.Cmd = []string{"/hello", "work", "--queue", ""}
	a.Roles["jobs"] = jobs
	a.Accessories = map[string]Accessory{"search": {
		Image: "elasticsearch:8", Roles: []string{"web"},
		Cmd: []string{"eswrapper", ""},
		Env: Env{Clear: map[string]string{"discovery.type": "single-node", "--http-addr": "0.0.0.0:7700"}},
	}}
	require.NoError(t, a.Validate())

	a.Accessories["search"] = Accessory{Image: "elasticsearch:8", Roles: []string{"web"}, Env: Env{Clear: map[string]string{"a=b": "x"}}}
	jobs.Env.Clear = map[string]string{"discovery.type": "x"}
	a.Roles["jobs"] = jobs
	assert.Equal(t, []string{
		`roles.jobs.env.clear["discovery.type"]: must be a name of letters, digits and "_", not starting with a digit, got "discovery.type"`,
		`accessories.search.env.clear["a=b"]: must be a name without "=" or spaces, got "a=b"`,
	}, problems(t, a.Validate()))
}
