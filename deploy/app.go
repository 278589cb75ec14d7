package deploy

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/slipwayhq/slipway/deploy/image"
	"github.com/slipwayhq/slipway/deploy/proxy"
	"github.com/slipwayhq/slipway/health"
	"github.com/slipwayhq/slipway/secret"
)

// Defaults used when the matching field is zero.
const (
	DefaultRetain         = 5
	DefaultNetwork        = "slipway"
	DefaultPrimaryRole    = "web"
	DefaultProxyImage     = proxy.DefaultImage // the one kamal-proxy release Slipway is tested with
	DefaultDeployTimeout  = 30 * time.Second
	DefaultDrainTimeout   = 30 * time.Second
	DefaultStopTimeout    = 30 * time.Second
	DefaultAppPort        = 80
	DefaultMigrateTimeout = 10 * time.Minute
)

// App is everything Slipway needs to deploy one service: what runs, where,
// and how it may take traffic. Zero values mean the documented defaults.
type App struct {
	// Service names the app; it prefixes every container name. Lower-case
	// letters, digits and dashes.
	Service string
	// Image is the image repository, such as "ghcr.io/acme/hello"; a
	// release adds its tag.
	Image string
	// Build, when set, makes each release's image from source on this
	// machine before any host is touched: an image.Go (a Go main package,
	// no Docker needed) or an image.Dockerfile (through an engine). The
	// image is built once and delivered to every host; nil means the
	// image is already on the hosts or in Registry.
	Build image.Builder
	// Registry, when set, delivers the image through the registry Image
	// names (pushing it when Build is set); nil delivers a built image
	// registry-free, over each host's SSH connection.
	Registry *Registry
	// Roles are the kinds of container the app runs, by role name: a web
	// role behind the proxy and any number of worker roles.
	Roles Roles
	// PrimaryRole is the role whose first host boots first and holds the
	// lock; "" means DefaultPrimaryRole when there is a role of that name,
	// else the first role by name.
	PrimaryRole string
	// Env is given to every role's containers.
	Env Env
	// Volumes are mounted into every role's containers, "name:/path[:ro]".
	Volumes []string
	// Labels are added to every container.
	Labels map[string]string
	// Logging is the log driver and options of every container of the
	// app (roles, migrations, accessories); the zero value is Kamal's
	// default, json-file capped at 10 MB (see Logging).
	Logging Logging
	// Boot says how many hosts boot at once and how long to wait between batches.
	Boot Boot
	// Retain is how many stopped containers per role and host are kept
	// for rollback; 0 means DefaultRetain.
	Retain int
	// Network is the engine network containers and the proxy share;
	// "" means DefaultNetwork.
	Network string
	// Migrate, when set, runs once per deploy on the primary host, in a
	// one-off container of the new image, before any traffic shifts.
	Migrate *Migrate
	// Hooks run at fixed points of a deploy.
	Hooks Hooks
	// Secrets looks up the values of the names in Env.Secret (the app's,
	// its roles' and accessories'); nil means secret.Env, the process
	// environment.
	Secrets secret.Source
	// Databases are the SQLite databases the app writes, each declared
	// once with its role and replica (see Database).
	Databases []Database
	// Accessories are long-lived services beside the app, by name, such
	// as a Litestream sidecar or a cache. Deploys boot them when missing
	// and otherwise leave them running.
	Accessories map[string]Accessory
	// Destinations are overlays of this App (staging, production, ...),
	// applied by ForDestination.
	Destinations map[string]func(*App)
	// Destination is the destination this App was made for by
	// ForDestination; "" for the base App.
	Destination string
}

// Roles maps role names onto roles.
type Roles map[string]Role

// Role is one kind of container of an app, on its servers.
type Role struct {
	Servers []Server
	// Cmd overrides the image's command.
	Cmd []string
	// Env is merged over App.Env for this role.
	Env Env
	// Labels are added to this role's containers.
	Labels map[string]string
	// Options are engine options for this role's containers.
	Options ContainerOptions
	// Logging is set over App.Logging for this role's containers.
	Logging Logging
	// StopTimeout is how long a stop of this role's containers (the
	// old release's, a handoff's, a cleanup's) waits for the app to
	// exit after SIGTERM before the engine kills it; the engine uses it
	// for any stop of the container too. 0 means DefaultStopTimeout.
	StopTimeout time.Duration
	// Proxy puts the role behind kamal-proxy: it makes it a web role.
	Proxy *Proxy
	// Health gates a role without a proxy; nil means the container must
	// keep running for a short settle time. An HTTP or TCP gate here needs
	// its Port set: a worker role has no app port.
	Health health.Gate
}

// ContainerOptions are engine options for a role's containers.
type ContainerOptions struct {
	Memory     int64   // bytes; 0 means no limit
	CPUs       float64 // 0 means no limit
	User       string
	Restart    string // engine restart policy; "" means "unless-stopped"
	ExtraHosts []string
	Init       bool
}

// Server is one host a role runs on.
type Server struct {
	Host string
	Port int    // sshd port; 0 means 22
	User string // "" means root
	// Labels tag the server, for a platform team's own selection.
	Labels map[string]string
	// Env is merged over App.Env and the role's Env for this host's
	// containers of the role (as Kamal's env tags give a host env of its
	// own): a clear value here replaces theirs, and its secrets are
	// added. Only a role's servers take it.
	Env Env
	// DockerSocket is the engine's socket on the host; "" means
	// /var/run/docker.sock.
	DockerSocket string
	// Jump is a bastion to reach the host through.
	Jump *Server
	// KeyFiles, KnownHosts and TrustOnFirstUse are passed to the SSH
	// transport (see package ssh for their defaults).
	KeyFiles        []string
	KnownHosts      string
	TrustOnFirstUse bool
	// ConnectTimeout bounds the TCP connect and the SSH handshake to this
	// server (a bastion in Jump has its own). 0 means Options.ConnectTimeout
	// when the session sets one, else ssh.DefaultConnectTimeout (10 s): a
	// host behind a slow link or a far bastion may need more.
	ConnectTimeout time.Duration
}

// Hosts makes servers from addresses with every other field at its default.
func Hosts(hosts ...string) []Server {
	s := make([]Server, len(hosts))
	for i, h := range hosts {
		s[i] = Server{Host: h}
	}
	return s
}

// Proxy configures kamal-proxy in front of a web role.
type Proxy struct {
	// Hosts are the host names routed to the role; none means any host.
	Hosts []string
	// AppPort is the port the app listens on in its container; 0 means DefaultAppPort.
	AppPort int
	// TLS turns on HTTPS for Hosts: automatic (Let's Encrypt) unless
	// TLSCertificate is set. An automatic certificate needs the role on
	// one server and no wildcard host.
	TLS bool
	// Health is the gate kamal-proxy applies before it shifts traffic;
	// its Path, Interval and Timeout are passed to kamal-proxy.
	Health health.HTTP
	// ResponseTimeout bounds how long the app may take to answer a
	// request; 0 means kamal-proxy's default.
	ResponseTimeout time.Duration
	// BufferRequests and BufferResponses make kamal-proxy buffer bodies.
	BufferRequests, BufferResponses bool
	// DeployTimeout bounds how long a new container may take to become
	// healthy; 0 means DefaultDeployTimeout.
	DeployTimeout time.Duration
	// DrainTimeout bounds how long in-flight requests to the old
	// container may take; 0 means DefaultDrainTimeout.
	DrainTimeout time.Duration
	// MaxPause bounds how long a request waits while a handoff deploy
	// replaces the container of a role that writes a Database: kamal-proxy
	// holds the role's requests that long, then refuses them. 0 means
	// DefaultMaxPause; it must exceed DeployTimeout and be at most
	// MaxPauseLimit.
	MaxPause time.Duration
	// TLSCertificate and TLSPrivateKey name the secrets, resolved through
	// App.Secrets, that hold a custom certificate (its chain, PEM) and
	// its private key (PEM) for Hosts: set both to serve HTTPS with them
	// instead of an automatic certificate, as for several servers behind
	// DNS round robin, a wildcard host or a CDN's origin certificate.
	// Each deploy writes them into the proxy's config volume (mode 0600,
	// see proxy.CertPaths); the key's bytes appear in no output, plan,
	// audit line or error. Setting them turns TLS on.
	TLSCertificate, TLSPrivateKey string
	// SSLRedirect says whether plain HTTP to Hosts is redirected to
	// HTTPS when TLS is on; nil means kamal-proxy's default, true.
	SSLRedirect *bool
	// ForwardHeaders says whether kamal-proxy passes on the
	// X-Forwarded-For and X-Forwarded-Proto headers a client sent (turn it
	// on behind a load balancer or CDN); nil means kamal-proxy's default:
	// passed on without TLS, replaced with TLS.
	ForwardHeaders *bool
	// PathPrefix routes only requests below this path ("/api") to the
	// role, so that roles can share host names; "" means every path.
	PathPrefix string
	// StripPathPrefix says whether PathPrefix is cut from a request's
	// path before the app sees it; nil means kamal-proxy's default, true.
	StripPathPrefix *bool
	// Balancer, when set, puts a kamal-proxy on other servers in front of
	// the role's hosts, as one entry point that spreads requests over
	// them (see Balancer). TLS then terminates on the balancer: leave TLS
	// and the certificate fields here unset.
	Balancer *Balancer

	// Image, HTTPPort, HTTPSPort, BindIPs, MetricsPort, Debug, HTTP3 and
	// LogMaxSize describe the host's kamal-proxy container itself
	// (proxy.Boot). A host runs one proxy, shared by every role and every
	// app on it, so they must agree across all of them on a host (roles of
	// one app are checked by Validate): a deploy that finds the running
	// proxy different reboots it, and says so in its plan.
	//
	// Image is the kamal-proxy image; "" means DefaultProxyImage.
	Image string
	// HTTPPort and HTTPSPort are published on the host; 0 means 80 and 443.
	HTTPPort, HTTPSPort int
	// BindIPs are the host addresses the proxy's ports are published on,
	// such as "10.0.0.5" for a private network; none means every address.
	BindIPs []string
	// MetricsPort, when set, makes kamal-proxy serve Prometheus metrics
	// on that port (published on BindIPs); 0 means no metrics.
	MetricsPort int
	// Debug turns on kamal-proxy's debug logs.
	Debug bool
	// HTTP3 turns on HTTP/3 on the HTTPS port (published as UDP too).
	HTTP3 bool
	// LogMaxSize caps the proxy container's log file, in the engine's
	// size syntax ("10m", "500k"); "" means proxy.DefaultLogMaxSize.
	LogMaxSize string
}

// Bool returns a pointer to v, for the *bool fields whose nil means a
// default (Proxy.SSLRedirect, Proxy.ForwardHeaders, Proxy.StripPathPrefix).
func Bool(v bool) *bool { return &v }

// Env is the environment of a container: clear values, and the names of
// secrets whose values are resolved at deploy time and travel only through
// the engine API.
type Env struct {
	Clear  map[string]string
	Secret []string
}

// Boot paces a rolling deploy. Whatever the limit, the primary host
// (the primary role's first server) boots alone in the first batch: the
// other roles and hosts boot only once the primary role's first container
// is healthy, and a failure there stops the deploy with every other host
// untouched, as Kamal holds other roles behind its primary role.
type Boot struct {
	// Limit is how many of the other hosts boot at once, after the
	// primary host; 0 means all of them.
	Limit int
	// LimitPercent, when set instead of Limit, is a share of the hosts (1-100).
	LimitPercent int
	// Wait is the pause between batches.
	Wait time.Duration
}

// Migrate runs a one-off container of the new image before traffic shifts.
type Migrate struct {
	// Cmd is the command, run with the image's entrypoint like a role's Cmd.
	Cmd []string
	// Timeout bounds the migration; 0 means DefaultMigrateTimeout.
	Timeout time.Duration
	// Role whose env and options the migration uses; "" means the primary role.
	Role string
}

// Hooks are Go funcs called at fixed points of a deploy. A hook that
// returns an error stops the deploy there.
type Hooks struct {
	PreConnect  func(ctx context.Context, h HookContext) error
	PreDeploy   func(ctx context.Context, h HookContext) error
	PostDeploy  func(ctx context.Context, h HookContext) error
	PreAppBoot  func(ctx context.Context, h HookContext) error
	PostAppBoot func(ctx context.Context, h HookContext) error
}

// HookContext tells a hook where the deploy stands.
type HookContext struct {
	Service     string
	Destination string
	Version     string
	Performer   string
	Hosts       []string // the hosts the hook concerns
	Output      io.Writer
}

// Accessory is a long-lived container beside the app, on the hosts of the
// roles it names (or its own Servers). Unlike roles it is not replaced by
// each deploy: it boots when missing, and keeps running while what
// defines it (image, command, env, secrets, volumes, ports, files,
// labels, options: its Fingerprint, in the container's LabelFingerprint)
// stays the same. When that changes, a deploy reboots it, or only
// reports it (see Drift).
type Accessory struct {
	Image string
	// Build, when set, makes Image (a full reference, tag included) from
	// source on this machine, as App.Build does for the app: once, when
	// a host needs the accessory booted, delivered over SSH like the
	// app's image, or through App.Registry when Image is in the same
	// registry as App.Image. Without Build, a host that lacks Image pulls
	// it: with Registry's login when set, with App.Registry's when it is
	// that registry's, and anonymously from any other registry (the
	// app's login is never offered to another registry).
	Build image.Builder
	// Registry is the login to the registry Image names, when that is
	// not App.Registry's; nil pulls from it anonymously. With Build, the
	// built image is pushed there and each host pulls it.
	Registry *Registry
	// Roles puts the accessory on every host of these roles.
	Roles []string
	// Servers puts the accessory on these hosts too.
	Servers []Server
	Cmd     []string
	Env     Env
	// Volumes are mounted as for roles, "name:/path[:ro]"; share the app's
	// volume to reach its files (a replication sidecar does).
	Volumes []string
	// Ports are published on the host, in docker -p syntax.
	Ports []string
	// Files are written into the container before it starts, by absolute
	// path: a config file, say. They travel through the engine API.
	Files   map[string]string
	Labels  map[string]string
	Options ContainerOptions
	// Drift says what a deploy does when the running container differs
	// from this declaration; the zero value, DriftReboot, reboots it.
	Drift Drift
	// Logging is set over App.Logging for the accessory's container.
	Logging Logging
	// StopTimeout is how long a stop of the accessory waits for it to
	// exit before the engine kills it; 0 means DefaultStopTimeout.
	StopTimeout time.Duration
}

// Drift is what a deploy does with an accessory whose running container
// no longer matches its declaration.
type Drift int

// The choices for Accessory.Drift.
const (
	// DriftReboot replaces the container in the deploy: the old one is
	// stopped (a Litestream sidecar syncs and lets go of its lease),
	// then the new one starts. The plan says why ("image changed").
	DriftReboot Drift = iota
	// DriftReport leaves the running container as it is: the plan says
	// it drifted and why, and `accessory:reboot NAME` applies it when
	// the operator chooses.
	DriftReport
)

// String returns "reboot" or "report".
func (d Drift) String() string {
	switch d {
	case DriftReboot:
		return "reboot"
	case DriftReport:
		return "report"
	}
	return fmt.Sprintf("Drift(%d)", int(d))
}

// Registry is the login to the registry an App's Image names. The engine
// of each host receives it with the one pull that needs it; it is never
// written to a host's disk, printed or audited.
type Registry struct {
	// Username is the registry user; "" means anonymous.
	Username string
	// PasswordSecret names the secret, resolved through App.Secrets,
	// that holds the password or token.
	PasswordSecret string
	// Insecure allows a plain-HTTP registry (loopback and private
	// addresses are allowed anyway).
	Insecure bool
}
