package ssh

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// Client is one SSH connection to a host. Every command, upload and
// forwarded socket (such as the Docker API) shares it, so a deploy pays
// for the handshake once per host. A Client is safe for concurrent use.
type Client struct {
	cfg  Config
	conn *gossh.Client
	jump *Client // closed with this client

	stop      chan struct{}
	gone      chan struct{} // closed once the connection has ended
	closeOnce sync.Once
	closeErr  error
}

// Dial connects to the host, checks its key against known_hosts and logs
// in. It fails within Config.ConnectTimeout with an error that names the
// host and says what to check.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	return dial(ctx, cfg, nil)
}

// dial is Dial; with bastions set, the jump host's connection is taken
// from (and left to) them instead of being dialled for this client alone.
func dial(ctx context.Context, cfg Config, bastions *Bastions) (*Client, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	dest := cfg.Destination()

	auth, closeAgent, err := authMethods(cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", dest, err)
	}
	defer closeAgent()

	knownHosts, err := cfg.knownHosts()
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", dest, err)
	}
	keys, err := newHostKeys(knownHosts, cfg.TrustOnFirstUse)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", dest, err)
	}

	ctx, cancel := context.WithTimeout(ctx, cfg.connectTimeout())
	defer cancel()

	var jump *Client // owned: closed with this client
	var raw net.Conn
	switch {
	case cfg.Jump != nil && bastions != nil:
		shared, err := bastions.get(ctx, *cfg.Jump)
		if err != nil {
			return nil, fmt.Errorf("connect to %s through jump host: %w", dest, err)
		}
		raw, err = shared.DialContext(ctx, "tcp", cfg.Addr())
		if err != nil {
			return nil, fmt.Errorf("connect to %s: %w", dest, explainForward(ctx, cfg, err))
		}
	case cfg.Jump != nil:
		jump, err = Dial(ctx, *cfg.Jump)
		if err != nil {
			return nil, fmt.Errorf("connect to %s through jump host: %w", dest, err)
		}
		raw, err = jump.DialContext(ctx, "tcp", cfg.Addr())
		if err != nil {
			jump.Close()
			return nil, fmt.Errorf("connect to %s: %w", dest, explainForward(ctx, cfg, err))
		}
	default:
		var d net.Dialer
		raw, err = d.DialContext(ctx, "tcp", cfg.Addr())
	}
	if err != nil {
		if jump != nil {
			jump.Close()
		}
		return nil, fmt.Errorf("connect to %s: %w", dest, explainDial(ctx, cfg, err))
	}

	clientCfg := &gossh.ClientConfig{
		User:              cfg.user(),
		Auth:              auth,
		HostKeyCallback:   keys.check(cfg.Addr()),
		HostKeyAlgorithms: keys.algorithms(cfg.Addr()),
		Timeout:           cfg.connectTimeout(),
	}
	conn, err := handshake(ctx, raw, cfg.Addr(), clientCfg)
	if err != nil {
		raw.Close()
		if jump != nil {
			jump.Close()
		}
		return nil, fmt.Errorf("connect to %s: %w", dest, explainHandshake(ctx, cfg, err))
	}

	c := &Client{cfg: cfg, conn: conn, jump: jump, stop: make(chan struct{}), gone: make(chan struct{})}
	go func() {
		conn.Wait()
		close(c.gone)
	}()
	if every := cfg.keepAlive(); every > 0 {
		go c.keepAlive(every)
	}
	c.tune(ctx)
	return c, nil
}

// tuneTimeout bounds how long Dial waits for the command tune starts.
const tuneTimeout = 2 * time.Second

// tune starts `true` on the host. OpenSSH's sshd leaves Nagle's algorithm
// on for a connection until a session starts a command on it; until then
// the small packets it sends (such as the one that opens each forwarded
// channel, for every Docker API call and every registry request an engine
// pulls through a forward) wait for this side's delayed ACK, about 40 ms
// each. Starting any command turns it off for the rest of the
// connection, so the command's outcome does not matter.
func (c *Client) tune(ctx context.Context) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		if s, err := c.conn.NewSession(); err == nil {
			s.Start("true")
			s.Close()
		}
	}()
	select {
	case <-done:
	case <-ctx.Done():
	case <-time.After(tuneTimeout):
	}
}

// handshake runs the SSH handshake on raw, giving up when ctx ends.
func handshake(ctx context.Context, raw net.Conn, addr string, cfg *gossh.ClientConfig) (*gossh.Client, error) {
	if deadline, ok := ctx.Deadline(); ok {
		raw.SetDeadline(deadline)
	}
	stop := context.AfterFunc(ctx, func() { raw.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	c, chans, reqs, err := gossh.NewClientConn(raw, addr, cfg)
	if err != nil {
		return nil, err
	}
	raw.SetDeadline(time.Time{})
	return gossh.NewClient(c, chans, reqs), nil
}

func explainDial(ctx context.Context, cfg Config, err error) error {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("%w: nothing listens on port %d there; check Server.Port and that sshd runs", err, portOf(cfg))
	case errors.Is(ctx.Err(), context.DeadlineExceeded), isTimeout(err):
		return fmt.Errorf("no answer within %s: check the address, that the host is up, and that a firewall lets port %d through", cfg.connectTimeout(), portOf(cfg))
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return fmt.Errorf("%w: check the address and the network route to it", err)
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return fmt.Errorf("%w: check the host name", err)
	}
	return err
}

// explainForward says what a bastion's refusal to open the channel to
// cfg's host means. A refusal is final for this dial: the channel is
// asked for once, and nothing here retries it.
func explainForward(ctx context.Context, cfg Config, err error) error {
	var oc *gossh.OpenChannelError
	if !errors.As(err, &oc) {
		return explainDial(ctx, cfg, err)
	}
	switch oc.Reason {
	case gossh.Prohibited:
		return fmt.Errorf("%w: the bastion %s refused to forward to port %d; check AllowTcpForwarding and PermitOpen in its sshd_config",
			err, cfg.Jump.Destination(), portOf(cfg))
	case gossh.ConnectionFailed:
		return fmt.Errorf("%w: the bastion %s could not reach it; check the address, that sshd runs on port %d there, and the route from the bastion",
			err, cfg.Jump.Destination(), portOf(cfg))
	case gossh.ResourceShortage:
		return fmt.Errorf("%w: the bastion %s is out of channels; try fewer hosts at once (deploy.Options.Parallel)", err, cfg.Jump.Destination())
	}
	return err
}

func explainHandshake(ctx context.Context, cfg Config, err error) error {
	var hk *HostKeyError
	switch {
	case errors.As(err, &hk):
		return hk
	case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET):
		// sshd closes a connection before its banner when it is past
		// MaxStartups (or PerSourceMaxStartups), and when a rule or a
		// tool such as fail2ban refuses the client's address.
		return fmt.Errorf("SSH handshake: %w: the server closed the connection before logging in; its sshd may be refusing new connections "+
			"(MaxStartups: too many at once not yet logged in) or this client's address; open fewer at once (deploy.Options.Parallel, one shared Jump) or check its sshd log", err)
	case strings.Contains(err.Error(), "unable to authenticate"):
		return fmt.Errorf("log in as %q refused: the server accepted none of the keys offered (%s); check Server.User and that the user's authorized_keys holds one of them",
			cfg.user(), offered(cfg))
	case errors.Is(ctx.Err(), context.DeadlineExceeded), isTimeout(err):
		return fmt.Errorf("SSH handshake did not finish within %s: check that port %d is an SSH server", cfg.connectTimeout(), portOf(cfg))
	}
	return fmt.Errorf("SSH handshake: %w", err)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func portOf(cfg Config) int {
	if cfg.Port == 0 {
		return DefaultPort
	}
	return cfg.Port
}

func offered(cfg Config) string {
	var parts []string
	if files := cfg.keyFiles(); len(files) > 0 {
		parts = append(parts, "key files "+strings.Join(files, ", "))
	}
	if !cfg.NoAgent && os.Getenv("SSH_AUTH_SOCK") != "" {
		parts = append(parts, "ssh-agent keys")
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " and ")
}

// authMethods loads the key files and the agent. The returned func closes
// the agent connection once the handshake is over.
func authMethods(cfg Config) ([]gossh.AuthMethod, func(), error) {
	var signers []gossh.Signer
	for _, path := range cfg.keyFiles() {
		pem, err := os.ReadFile(path)
		if err != nil {
			return nil, nil, fmt.Errorf("key file %s: %w: check Server.KeyFiles", path, unwrapPathError(err))
		}
		s, err := gossh.ParsePrivateKey(pem)
		var missing *gossh.PassphraseMissingError
		if errors.As(err, &missing) {
			return nil, nil, fmt.Errorf("key file %s is passphrase-protected: load it into ssh-agent (ssh-add %s) and leave it out of KeyFiles", path, path)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("key file %s: %w", path, err)
		}
		signers = append(signers, s)
	}
	methods := []gossh.AuthMethod{}
	if len(signers) > 0 {
		methods = append(methods, gossh.PublicKeys(signers...))
	}
	closeAgent := func() {}
	if sock := os.Getenv("SSH_AUTH_SOCK"); sock != "" && !cfg.NoAgent {
		if conn, err := net.Dial("unix", sock); err == nil {
			methods = append(methods, gossh.PublicKeysCallback(agent.NewClient(conn).Signers))
			closeAgent = func() { conn.Close() }
		}
	}
	if len(methods) == 0 {
		return nil, nil, errors.New("no key to log in with: set Server.KeyFiles or load a key into ssh-agent")
	}
	return methods, closeAgent, nil
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// keepAlive probes the server; a connection that stops answering is
// closed so that callers fail fast instead of hanging.
func (c *Client) keepAlive(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		reply := make(chan error, 1)
		go func() {
			_, _, err := c.conn.SendRequest("keepalive@openssh.com", true, nil)
			reply <- err
		}()
		select {
		case <-c.stop:
			return
		case err := <-reply:
			if err != nil {
				c.Close()
				return
			}
		case <-time.After(every):
			c.Close()
			return
		}
	}
}

// Done is closed once the connection has ended: closed by Close, by a
// missed keepalive, or by the host. Every later call on the client fails,
// so a caller that must still reach the host dials it again.
func (c *Client) Done() <-chan struct{} { return c.gone }

// Alive reports whether the connection is still up.
func (c *Client) Alive() bool {
	select {
	case <-c.gone:
		return false
	case <-c.stop: // Close began: the connection is going
		return false
	default:
		return true
	}
}

// Probe sends the host a keepalive and waits for its answer until ctx
// ends. A connection that does not answer is closed, so that callers see
// it as lost (Alive is false) at once rather than after the keepalive
// interval, and can dial again.
func (c *Client) Probe(ctx context.Context) error {
	reply := make(chan error, 1)
	go func() {
		_, _, err := c.conn.SendRequest("keepalive@openssh.com", true, nil)
		reply <- err
	}()
	var err error
	select {
	case err = <-reply:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		c.Close()
		return fmt.Errorf("probe %s: no answer: %w", c.Host(), err)
	}
	return nil
}

// Host returns user@host:port, the name this client uses in errors.
func (c *Client) Host() string { return c.cfg.Destination() }

// Config returns the configuration the client was dialled with.
func (c *Client) Config() Config { return c.cfg }

// DialContext opens a connection from the host to addr, over this SSH
// connection: network "unix" reaches a socket on the host (stream-local
// forwarding, as for the Docker API) and "tcp" an address the host can
// reach (such as a container on its bridge network).
func (c *Client) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	conn, err := c.conn.DialContext(ctx, network, addr)
	if err != nil {
		return nil, fmt.Errorf("open %s %s on %s: %w", network, addr, c.Host(), err)
	}
	return conn, nil
}

// Close ends the connection, and the jump host's if there is one.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		close(c.stop)
		c.closeErr = c.conn.Close()
		if c.jump != nil {
			c.jump.Close()
		}
		if errors.Is(c.closeErr, net.ErrClosed) || errors.Is(c.closeErr, io.EOF) {
			c.closeErr = nil
		}
	})
	return c.closeErr
}
