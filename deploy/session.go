package deploy

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/user"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/deploy/ssh"
	"github.com/slipwayhq/slipway/secret"
)

// Defaults for the Options timeouts left zero.
const (
	// DefaultCallTimeout bounds each remote call that should answer
	// promptly: an engine call, a lock or audit command.
	DefaultCallTimeout = 30 * time.Second
	// DefaultCleanupTimeout bounds the cleanup of an interrupted deploy.
	// Mage exits 5 s after Ctrl-C, so putting back the containers the
	// deploy started, writing its audit lines and releasing the lock
	// must all fit in less.
	DefaultCleanupTimeout = 4 * time.Second
	// DefaultReconnectWindow is how long the cleanup after a lost
	// connection keeps trying to reach the host again.
	DefaultReconnectWindow = 2 * time.Minute
)

// Options configure a Session. The zero value writes to stdout and names
// the performer from the local user and machine, and uses the default
// timeouts.
type Options struct {
	// Output receives one line per host and step, and summaries; nil
	// means os.Stdout. Secret values are redacted from it.
	Output io.Writer
	// Performer is who runs the deploy, for the lock and the audit log;
	// "" means user@machine.
	Performer string
	// LockWait is how long a deploy waits for a held lock; 0 fails at once.
	LockWait time.Duration
	// Message is recorded with the lock, such as "hotfix for #123".
	Message string

	// CallTimeout bounds every remote call that should answer promptly:
	// each engine call of a step, each lock and audit command. A step's
	// deadline is CallTimeout plus what the step waits for on purpose
	// (kamal-proxy's deploy timeout, a gate's deadline, the stop timeout
	// of each old container, the migration timeout), so a hung dockerd
	// or host fails the step with a *TimeoutError naming the host and
	// the step instead of stalling the deploy. Building and delivering
	// images have no step deadline (their transfers are bounded by the
	// transport's silence limit, ssh.Config.CommandTimeout). 0 means
	// DefaultCallTimeout.
	CallTimeout time.Duration
	// CleanupTimeout bounds the cleanup of an interrupted (cancelled)
	// deploy, counted from the cancellation: putting back what the
	// deploy started, writing the audit lines, releasing the lock.
	// 0 means DefaultCleanupTimeout.
	CleanupTimeout time.Duration
	// ReconnectWindow is how long the cleanup after a lost connection
	// keeps dialling the host again, with backoff, to release the lock,
	// remove what the deploy started and write the audit lines. 0 means
	// DefaultReconnectWindow; negative means no reconnecting.
	ReconnectWindow time.Duration
	// ConnectTimeout and KeepAliveInterval override the SSH transport's
	// (ssh.Config) for every host when set (a Server's own ConnectTimeout
	// wins over this one): a connection that misses a
	// keepalive for KeepAliveInterval is closed, so a dropped link fails
	// the deploy within about twice that.
	ConnectTimeout    time.Duration
	KeepAliveInterval time.Duration
	// Parallel is how many hosts the session works on at once: the SSH
	// connections Connect starts, and each operation's work per host
	// (observing, a batch's steps, prune, details, exec, cleanup). A
	// batch larger than Parallel runs in waves. 0 means DefaultParallel;
	// negative means every host at once.
	Parallel int
}

func (o Options) callTimeout() time.Duration { return orDefault(o.CallTimeout, DefaultCallTimeout) }
func (o Options) cleanupTimeout() time.Duration {
	return orDefault(o.CleanupTimeout, DefaultCleanupTimeout)
}
func (o Options) reconnectWindow() time.Duration {
	return orDefault(o.ReconnectWindow, DefaultReconnectWindow)
}

// Session is a connection to every host of an app: one SSH connection per
// host, with its engine reached through it. Deploys, rollbacks and the
// other operations run on a Session. Close it when done.
type Session struct {
	app       App
	opts      Options
	out       *printer
	performer string
	hosts     map[string]*hostConn
	bastions  ssh.Bastions // one connection per Jump host, shared by the servers behind it

	mu      sync.Mutex
	secrets secret.Values
	held    *LockInfo              // the deploy lock this session holds; nil when none
	key     []byte                 // the app's fingerprint key, read with the lock (see fingerprintKey)
	boots   map[string]*boot       // what this Apply's start steps found, by host and container
	reboots map[string]ProxyReboot // what the proxy reboots did, by host

	watching    int          // operations watching their context (see watchCancel)
	cancelledAt atomic.Int64 // unix nanoseconds when the running operation's context ended
	beforeStep  func(Step)   // a test seam: called as each step begins
}

type hostConn struct {
	name   string
	ssh    *ssh.Client
	engine *engine.Engine
}

// Connect validates the app and connects to each of its hosts, at most
// Options.Parallel at once. Nothing is changed on any host. A bad app
// returns every problem; hosts that cannot be reached are all named in
// the error, in the app's order of hosts.
func Connect(ctx context.Context, a App, opts Options) (*Session, error) {
	a, err := a.expand() // validated, with the sidecars and replica env its Databases imply
	if err != nil {
		return nil, err
	}
	s := &Session{app: a, opts: opts, performer: opts.Performer, hosts: map[string]*hostConn{}}
	if s.performer == "" {
		s.performer = defaultPerformer()
	}
	w := opts.Output
	if w == nil {
		w = os.Stdout
	}
	s.out = newPrinter(w)

	hosts := a.HostNames()
	if h := a.Hooks.PreConnect; h != nil {
		if err := h(ctx, s.hookContext("", hosts)); err != nil {
			return nil, fmt.Errorf("pre-connect hook: %w", err)
		}
	}
	conns := make([]*hostConn, len(hosts))
	err = fanOutHosts(opts.parallel(), hosts, func(i int) error {
		h := hosts[i]
		start := time.Now()
		c, err := s.dialHost(ctx, a.server(h))
		if err != nil {
			return err
		}
		conns[i] = c
		s.record(nil, stepLine{host: h, step: "connect", start: start})
		return nil
	})
	for _, c := range conns {
		if c != nil {
			s.hosts[c.name] = c
		}
	}
	if err != nil {
		s.Close()
		s.out.failures(err)
		return nil, fmt.Errorf("connect: %w", err)
	}
	return s, nil
}

// dialHost connects to srv with the session's transport settings, through
// the session's shared connection to its bastion when it has a Jump.
func (s *Session) dialHost(ctx context.Context, srv Server) (*hostConn, error) {
	c, err := s.bastions.Dial(ctx, s.sshConfig(srv))
	if err != nil {
		return nil, err
	}
	socket := orDefault(srv.DockerSocket, engine.DefaultSocket)
	e, err := engine.New(ctx, func(ctx context.Context) (net.Conn, error) {
		return c.DialContext(ctx, "unix", socket)
	}, engine.Options{Host: c.Host(), Socket: socket})
	if err != nil {
		c.Close()
		return nil, err
	}
	return &hostConn{name: srv.Host, ssh: c, engine: e}, nil
}

// sshConfig is the transport configuration for srv with the session's
// connect timeout and keepalive applied.
func (s *Session) sshConfig(srv Server) ssh.Config {
	cfg := sshConfig(srv)
	if s.opts.ConnectTimeout > 0 {
		setConnectTimeout(&cfg, s.opts.ConnectTimeout)
	}
	if s.opts.KeepAliveInterval != 0 {
		cfg.KeepAliveInterval = s.opts.KeepAliveInterval
	}
	return cfg
}

func sshConfig(srv Server) ssh.Config {
	cfg := ssh.Config{
		Host: srv.Host, Port: srv.Port, User: srv.User,
		KeyFiles: srv.KeyFiles, KnownHosts: srv.KnownHosts, TrustOnFirstUse: srv.TrustOnFirstUse,
		ConnectTimeout: srv.ConnectTimeout,
	}
	if srv.Jump != nil {
		j := sshConfig(*srv.Jump)
		cfg.Jump = &j
	}
	return cfg
}

// setConnectTimeout gives d, the session's ConnectTimeout, to cfg and its
// bastions wherever their Server left it zero: a server's own timeout wins.
func setConnectTimeout(cfg *ssh.Config, d time.Duration) {
	for c := cfg; c != nil; c = c.Jump {
		if c.ConnectTimeout == 0 {
			c.ConnectTimeout = d
		}
	}
}

// Close ends every host's connection.
func (s *Session) Close() error {
	s.out.flush()
	for _, h := range s.hosts {
		h.engine.Close()
		h.ssh.Close()
	}
	s.bastions.Close() // after the hosts: their connections run through it
	return nil
}

// App returns the app the session deploys.
func (s *Session) App() App { return s.app }

// Engine returns the engine of host, for custom tooling; nil when the
// session does not know host.
func (s *Session) Engine(host string) *engine.Engine {
	if h, ok := s.hosts[host]; ok {
		return h.engine
	}
	return nil
}

// SSH returns the SSH connection to host; nil when the session does not know host.
func (s *Session) SSH(host string) *ssh.Client {
	if h, ok := s.hosts[host]; ok {
		return h.ssh
	}
	return nil
}

func (s *Session) hookContext(version string, hosts []string) HookContext {
	return HookContext{
		Service: s.app.Service, Destination: s.app.Destination, Version: version,
		Performer: s.performer, Hosts: hosts, Output: s.out,
	}
}

// resolveSecrets reads the app's secret values once per session and
// teaches the output to redact them.
func (s *Session) resolveSecrets(ctx context.Context) (secret.Values, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.secrets != nil {
		return s.secrets, nil
	}
	sec, err := ResolveSecrets(ctx, s.app)
	if err != nil {
		return nil, err
	}
	s.secrets = sec
	s.out.redact(sec)
	for _, r := range s.app.Replicas() { // credentials of a source of their own, too
		s.learnReplica(ctx, r)
	}
	return sec, nil
}

func defaultPerformer() string {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	if h, err := os.Hostname(); err == nil {
		name += "@" + h
	}
	return strings.TrimSpace(name)
}
