// Package proxy drives kamal-proxy, the reverse proxy in front of a web
// role on each host, the way Kamal does: its container runs on the app's
// network with ports 80 and 443 published, and Slipway runs
// `kamal-proxy deploy|list|pause|stop|resume|remove` inside it through
// the engine API. kamal-proxy switches traffic to a new container only once
// its health check passes, and drains the old one: that is the zero
// downtime.
//
// # Booting the proxy
//
// Boot describes the proxy's container: Boot.Spec is the
// engine.ContainerSpec to create and start on each web host, with the
// routes kept in ConfigVolume so that they survive a restart of the
// container, or its replacement by one of a new image (a reboot). Its
// run options (BindIPs, MetricsPort, Debug, HTTP3, LogMaxSize) are
// typed fields.
//
// # Moving traffic
//
// Every call takes an Execer (an *engine.Engine, or a fake in a unit
// test) and the proxy container's name (DefaultContainer is the one Boot
// starts):
//
//   - Deploy points a Service at its new target once the target is
//     healthy; Service.Args is the command line it runs, pure, for plans
//     and tests.
//   - Pause holds a service's requests while its only container is
//     replaced (a role that writes SQLite, one writer at a time), and
//     Resume lets them through to the new target; PauseArgs is the pause
//     command line.
//   - Stop answers a service's requests with a message until Resume;
//     Remove deletes a route; List reads the routes back.
//
// A Service routes by host names and path prefixes, with automatic TLS or
// a custom certificate (CertPaths is where it lives in the container),
// and says whether plain HTTP is redirected and X-Forwarded-* headers
// passed on.
//
// # Example
//
//	err := proxy.Deploy(ctx, eng, proxy.DefaultContainer, proxy.Service{
//		Name:       "hello-web",
//		Target:     "hello-web-v2:3000",
//		HealthPath: "/up",
//	})
package proxy

import (
	"context"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/deploy/engine"
)

// Defaults for a host's kamal-proxy.
const (
	DefaultContainer = "kamal-proxy"
	DefaultImage     = "basecamp/kamal-proxy:v0.9.2"
	// ConfigVolume keeps kamal-proxy's routes across restarts of its container.
	ConfigVolume = "kamal-proxy-config"
	// ConfigDir is where ConfigVolume is mounted in the proxy container.
	ConfigDir = "/home/kamal-proxy/.config/kamal-proxy"
	// CertDir holds the custom certificates Slipway writes, per service
	// (see CertPaths).
	CertDir = ConfigDir + "/slipway-certs"
	// DefaultLogMaxSize caps the proxy container's log file, as Kamal does.
	DefaultLogMaxSize = "10m"
	// LabelProxy marks the kamal-proxy containers Slipway makes.
	LabelProxy = "slipway.proxy"
)

// Execer runs a command in a container; *engine.Engine is one.
type Execer interface {
	Exec(ctx context.Context, name string, cmd []string, opts engine.ExecOptions) (engine.ExecResult, error)
}

// Service is one `kamal-proxy deploy`: where a service's traffic goes and
// what must hold before it goes there. Zero durations mean kamal-proxy's
// own defaults, and so does every nil *bool.
type Service struct {
	Name   string
	Target string // container:port on the proxy's network
	// Targets, when set instead of Target, are several targets that
	// kamal-proxy balances requests over ("10.0.0.1:80", ...): a
	// deploy moves traffic only once every one is healthy.
	Targets         []string
	Hosts           []string
	TLS             bool
	HealthPath      string
	HealthInterval  time.Duration
	HealthTimeout   time.Duration
	DeployTimeout   time.Duration
	DrainTimeout    time.Duration
	ResponseTimeout time.Duration
	BufferRequests  bool
	BufferResponses bool

	// TLSCertificatePath and TLSPrivateKeyPath are a custom certificate
	// and its key, PEM files inside the proxy container (see CertPaths),
	// used instead of automatic certificates; both or neither.
	TLSCertificatePath string
	TLSPrivateKeyPath  string
	// TLSRedirect says whether plain HTTP is redirected to HTTPS when TLS
	// is on; nil means kamal-proxy's default, which redirects.
	TLSRedirect *bool
	// ForwardHeaders says whether the X-Forwarded-* headers a client sent
	// are passed on; nil means kamal-proxy's default: forwarded without
	// TLS, replaced with TLS.
	ForwardHeaders *bool
	// PathPrefixes routes only requests below these paths to the service;
	// none means every path.
	PathPrefixes []string
	// StripPathPrefix says whether the prefix is cut from a request's path
	// before it is sent on; nil means kamal-proxy's default, which cuts it.
	StripPathPrefix *bool
}

// Args returns the kamal-proxy command line that deploys s.
func (s Service) Args() []string {
	args := []string{"kamal-proxy", "deploy", s.Name}
	if len(s.Targets) == 0 {
		args = append(args, "--target="+s.Target)
	}
	for _, t := range s.Targets {
		args = append(args, "--target="+t)
	}
	for _, h := range s.Hosts {
		args = append(args, "--host="+h)
	}
	for _, p := range s.PathPrefixes {
		args = append(args, "--path-prefix="+p)
	}
	flag := func(name string, v *bool) {
		if v != nil {
			args = append(args, "--"+name+"="+strconv.FormatBool(*v))
		}
	}
	flag("strip-path-prefix", s.StripPathPrefix)
	if s.TLS {
		args = append(args, "--tls")
	}
	if s.TLSCertificatePath != "" || s.TLSPrivateKeyPath != "" {
		args = append(args, "--tls-certificate-path="+s.TLSCertificatePath, "--tls-private-key-path="+s.TLSPrivateKeyPath)
	}
	flag("tls-redirect", s.TLSRedirect)
	flag("forward-headers", s.ForwardHeaders)
	if s.HealthPath != "" {
		args = append(args, "--health-check-path="+s.HealthPath)
	}
	dur := func(flag string, d time.Duration) {
		if d > 0 {
			args = append(args, "--"+flag+"="+d.String())
		}
	}
	dur("health-check-interval", s.HealthInterval)
	dur("health-check-timeout", s.HealthTimeout)
	dur("deploy-timeout", s.DeployTimeout)
	dur("drain-timeout", s.DrainTimeout)
	dur("target-timeout", s.ResponseTimeout)
	if s.BufferRequests {
		args = append(args, "--buffer-requests")
	}
	if s.BufferResponses {
		args = append(args, "--buffer-responses")
	}
	return args
}

// CertPaths are where the custom certificate and key of a service's
// route to target (a container name) live inside the proxy container: in
// ConfigVolume, beside kamal-proxy's routes, so that a restarted or
// rebooted proxy restores the route with its certificate. Each target
// has its own, so a deploy whose certificate kamal-proxy refuses leaves
// the files of the route that keeps serving as they were.
func CertPaths(service, target string) (cert, key string) {
	dir := path.Join(CertDir, service, target)
	return dir + "/cert.pem", dir + "/key.pem"
}

// Deploy points the service at its target once the target is healthy,
// and returns when traffic has moved. An unhealthy target leaves the
// service on its old target and returns an error with kamal-proxy's words.
func Deploy(ctx context.Context, e Execer, container string, s Service) error {
	target := s.Target
	if len(s.Targets) > 0 {
		target = strings.Join(s.Targets, ",")
	}
	return run(ctx, e, container, s.Args(), "deploy "+s.Name+" to "+target)
}

// Remove deletes a service's route.
func Remove(ctx context.Context, e Execer, container, service string) error {
	return run(ctx, e, container, []string{"kamal-proxy", "remove", service}, "remove "+service)
}

// Stop takes a service out of service: kamal-proxy answers its requests
// with 503 and message until Resume.
func Stop(ctx context.Context, e Execer, container, service, message string, drain time.Duration) error {
	args := []string{"kamal-proxy", "stop", service}
	if message != "" {
		args = append(args, "--message="+message)
	}
	if drain > 0 {
		args = append(args, "--drain-timeout="+drain.String())
	}
	return run(ctx, e, container, args, "stop "+service)
}

// Pause holds a service's new requests instead of sending them on: they
// wait, up to maxPause each, until Resume (kamal-proxy sheds a request
// that waited longer). It returns once the requests already in flight
// have finished, or drain has passed. Health checks of a deploy still
// pass through while paused, so a paused service can be pointed at a
// new target. Zero durations mean kamal-proxy's defaults (30s each).
func Pause(ctx context.Context, e Execer, container, service string, maxPause, drain time.Duration) error {
	return run(ctx, e, container, PauseArgs(service, maxPause, drain), "pause "+service)
}

// PauseArgs returns the kamal-proxy command line that pauses service.
func PauseArgs(service string, maxPause, drain time.Duration) []string {
	args := []string{"kamal-proxy", "pause", service}
	if maxPause > 0 {
		args = append(args, "--max-pause="+maxPause.String())
	}
	if drain > 0 {
		args = append(args, "--drain-timeout="+drain.String())
	}
	return args
}

// Resume puts a stopped or paused service back in service; a paused
// service's waiting requests go on to its target.
func Resume(ctx context.Context, e Execer, container, service string) error {
	return run(ctx, e, container, []string{"kamal-proxy", "resume", service}, "resume "+service)
}

// Route is one service as `kamal-proxy list` shows it.
type Route struct {
	Service string
	Host    string
	Path    string
	Target  string // several targets are joined by commas
	State   string
	TLS     bool
}

// List returns the services kamal-proxy routes.
func List(ctx context.Context, e Execer, container string) ([]Route, error) {
	res, err := e.Exec(ctx, container, []string{"kamal-proxy", "list"}, engine.ExecOptions{})
	if err != nil {
		return nil, fmt.Errorf("kamal-proxy list: %w", err)
	}
	if res.ExitCode != 0 {
		return nil, fmt.Errorf("kamal-proxy list: exit %d: %s", res.ExitCode, strings.TrimSpace(string(res.Stderr)))
	}
	return parseList(string(res.Stdout))
}

var cell = regexp.MustCompile("\x1b\\[[0-9;]*m(.*?)\x1b\\[0m")

// parseList reads kamal-proxy's table: every cell is wrapped in a
// terminal style, which marks its bounds even when it is empty.
func parseList(out string) ([]Route, error) {
	var routes []Route
	for i, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if i == 0 || strings.TrimSpace(line) == "" {
			continue // the header
		}
		m := cell.FindAllStringSubmatch(line, -1)
		if len(m) < 6 {
			return nil, fmt.Errorf("kamal-proxy list: unexpected line %q", line)
		}
		routes = append(routes, Route{Service: m[0][1], Host: m[1][1], Path: m[2][1], Target: m[3][1], State: m[4][1], TLS: m[5][1] == "yes"})
	}
	return routes, nil
}

// Boot describes a host's kamal-proxy container: its image, the ports it
// publishes and the options of `kamal-proxy run`. A host has one proxy,
// shared by every app on it, so every app on a host must describe it the
// same way: a deploy of an app whose Boot differs reboots the proxy.
type Boot struct {
	Image     string // "" means DefaultImage
	Network   string
	HTTPPort  int // 0 means 80
	HTTPSPort int // 0 means 443
	// BindIPs are the host addresses the ports are published on; none
	// means every address.
	BindIPs []string
	// MetricsPort, when set, serves Prometheus metrics on that port,
	// published on BindIPs like the others.
	MetricsPort int
	// Debug turns on kamal-proxy's debug logs.
	Debug bool
	// HTTP3 turns on HTTP/3 (QUIC) on the HTTPS port, published as UDP.
	HTTP3 bool
	// LogMaxSize caps the container's log file ("10m", "100k");
	// "" means DefaultLogMaxSize.
	LogMaxSize string
	// Labels are added to the container's own (LabelProxy).
	Labels map[string]string
}

// Spec returns the container that runs kamal-proxy on a host.
func (b Boot) Spec() engine.ContainerSpec {
	image := b.Image
	if image == "" {
		image = DefaultImage
	}
	labels := map[string]string{LabelProxy: "true"}
	for k, v := range b.Labels {
		labels[k] = v
	}
	return engine.ContainerSpec{
		Name:       DefaultContainer,
		Image:      image,
		Cmd:        b.Cmd(),
		Network:    b.Network,
		Ports:      b.Ports(),
		Volumes:    []string{ConfigVolume + ":" + ConfigDir},
		Restart:    "unless-stopped",
		Labels:     labels,
		LogOptions: map[string]string{"max-size": b.logMaxSize()},
	}
}

// Ports are the ports the proxy publishes, in docker -p syntax: the HTTP
// and HTTPS ports (and the metrics port) on each of BindIPs.
func (b Boot) Ports() []string {
	binds := b.BindIPs
	if len(binds) == 0 {
		binds = []string{""}
	}
	var ports []string
	for _, ip := range binds {
		prefix := ""
		if ip != "" {
			prefix = ip + ":"
			if strings.Contains(ip, ":") {
				prefix = "[" + ip + "]:"
			}
		}
		ports = append(ports, prefix+strconv.Itoa(orPort(b.HTTPPort, 80))+":80", prefix+strconv.Itoa(orPort(b.HTTPSPort, 443))+":443")
		if b.HTTP3 {
			ports = append(ports, prefix+strconv.Itoa(orPort(b.HTTPSPort, 443))+":443/udp")
		}
		if b.MetricsPort > 0 {
			m := strconv.Itoa(b.MetricsPort)
			ports = append(ports, prefix+m+":"+m)
		}
	}
	return ports
}

// Cmd is the command the proxy container runs: nil (the image's own,
// `kamal-proxy run`) when no run option is set.
func (b Boot) Cmd() []string {
	var opts []string
	if b.Debug {
		opts = append(opts, "--debug")
	}
	if b.MetricsPort > 0 {
		opts = append(opts, "--metrics-port="+strconv.Itoa(b.MetricsPort))
	}
	if b.HTTP3 {
		opts = append(opts, "--http3")
	}
	if len(opts) == 0 {
		return nil
	}
	return append([]string{"kamal-proxy", "run"}, opts...)
}

func (b Boot) logMaxSize() string {
	if b.LogMaxSize == "" {
		return DefaultLogMaxSize
	}
	return b.LogMaxSize
}

func orPort(p, def int) int {
	if p == 0 {
		return def
	}
	return p
}

func run(ctx context.Context, e Execer, container string, args []string, what string) error {
	res, err := e.Exec(ctx, container, args, engine.ExecOptions{})
	if err != nil {
		return fmt.Errorf("kamal-proxy %s: %w", what, err)
	}
	if res.ExitCode != 0 {
		msg := strings.TrimSpace(string(res.Stderr) + " " + string(res.Stdout))
		return fmt.Errorf("kamal-proxy %s: %s", what, msg)
	}
	return nil
}
