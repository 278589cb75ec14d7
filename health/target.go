package health

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/slipwayhq/slipway/deploy/engine"
)

// Inspector reads a container's state; *engine.Engine is one.
type Inspector interface {
	// Inspect returns what the engine reports about the named container.
	Inspect(ctx context.Context, name string) (engine.Container, error)
}

// Execer runs a command inside a container; *engine.Engine is one.
type Execer interface {
	// Exec runs cmd in the named container and waits for it; a non-zero exit is not an error.
	Exec(ctx context.Context, name string, cmd []string, opts engine.ExecOptions) (engine.ExecResult, error)
}

// LogTailer reads the end of a container's output; *engine.Engine is one.
type LogTailer interface {
	// Tail returns the last n lines the named container wrote, oldest first.
	Tail(ctx context.Context, name string, n int) ([]string, error)
}

// Dialer opens connections from a host; an SSH client to the host is one,
// and reaches containers on the host's bridge network.
type Dialer interface {
	// DialContext connects to addr on network ("tcp") as seen from the host.
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
}

// Host is how gates reach containers on one server. Each gate needs only
// some of it: every container gate needs Inspector, HTTP and TCP gates need
// Dialer, Command gates need Execer.
type Host struct {
	Name      string    // the server, for messages, such as "203.0.113.10"
	Inspector Inspector // reads the container's state and address
	Dialer    Dialer    // connects to the container's address from the host
	Execer    Execer    // runs Command gates inside the container
	// Network is the container network whose address HTTP and TCP gates
	// dial; "" means whichever network the container is on (the first by name).
	Network string
	// Redactor, when set, hides secret values in what tries capture (a
	// response body, a command's output) before it is cut to an excerpt:
	// a value that straddled the cut would otherwise survive as a prefix.
	Redactor Redactor
}

// Redactor hides secret values in text; secret.Values is one.
type Redactor interface {
	// Redact returns text with every secret value replaced.
	Redact(text string) string
}

// redact returns b with the target's secrets hidden, whole, as a try
// captured it.
func (t Target) redact(b []byte) []byte {
	if t.host.Redactor == nil || len(b) == 0 {
		return b
	}
	return []byte(t.host.Redactor.Redact(string(b)))
}

// Target is what a gate checks: a plain address (URL) or a container on a
// host (Container). The zero Target is invalid.
type Target struct {
	url       *url.URL
	err       error
	host      Host
	container string
	port      int
}

// URL returns a target at a plain address, such as "http://127.0.0.1:8080",
// "https://app.example.com" or "127.0.0.1:5432". HTTP gates use its scheme
// (http unless it is https) and host:port and request their own Path; TCP
// gates connect to its host:port. A missing port is the scheme's (80 or
// 443). Command and Docker gates cannot check a URL. A malformed URL makes
// Wait fail at once.
func URL(raw string) Target {
	s := raw
	if !strings.Contains(s, "://") {
		s = "tcp://" + s
	}
	u, err := url.Parse(s)
	if err == nil && u.Host == "" {
		err = errors.New("no host")
	}
	if err == nil {
		switch u.Scheme {
		case "http", "https", "tcp":
		default:
			err = fmt.Errorf("scheme %q is not http, https or tcp", u.Scheme)
		}
	}
	if err == nil && u.Port() == "" && u.Scheme == "tcp" {
		err = errors.New("no port")
	}
	if err != nil {
		return Target{err: fmt.Errorf("target URL %q: %w", raw, err)}
	}
	return Target{url: u}
}

// Container returns a target for the named container on host h, whose app
// listens on port inside the container (port may be 0 for Command and
// Docker gates, which need none).
func Container(h Host, name string, port int) Target {
	t := Target{host: h, container: name, port: port}
	switch {
	case name == "":
		t.err = errors.New("container target: no container name")
	case port < 0 || port > 65535:
		t.err = fmt.Errorf("container target %s: port %d is out of range", name, port)
	}
	return t
}

// WithRedactor returns t with r hiding secret values in what tries of
// it capture, as Host.Redactor does for a container target; for a URL
// target it is the only way to set one.
func (t Target) WithRedactor(r Redactor) Target {
	t.host.Redactor = r
	return t
}

// String names the target for output: the URL, or "container NAME:PORT on HOST".
func (t Target) String() string {
	switch {
	case t.url != nil:
		return t.url.Redacted()
	case t.container != "":
		s := "container " + t.container
		if t.port != 0 {
			s += ":" + strconv.Itoa(t.port)
		}
		if t.host.Name != "" {
			s += " on " + t.host.Name
		}
		return s
	}
	return "no target"
}

// ContainerName returns the container's name, or "" for a URL target.
func (t Target) ContainerName() string { return t.container }

// check reports a target that no gate can use.
func (t Target) check() error {
	if t.err != nil {
		return t.err
	}
	if t.url == nil && t.container == "" {
		return errors.New("empty target: build one with health.URL or health.Container")
	}
	return nil
}

// endpoint is where HTTP and TCP gates connect for one try.
type endpoint struct {
	scheme string // "http", "https" or "tcp"
	addr   string // host:port to dial
	host   string // the Host header unless the gate sets one
	dial   func(ctx context.Context, network, addr string) (net.Conn, error)
}

var plainDialer net.Dialer

// endpoint resolves where to connect now, on port if it is not zero; a
// container's address is read afresh on every try because a restart may change it.
func (t Target) endpoint(ctx context.Context, gate string, port int) (endpoint, error) {
	if t.url != nil {
		p := t.url.Port()
		if p == "" {
			p = map[string]string{"http": "80", "https": "443"}[t.url.Scheme]
		}
		if port != 0 {
			p = strconv.Itoa(port)
		}
		addr := net.JoinHostPort(t.url.Hostname(), p)
		host := t.url.Host
		if port != 0 {
			host = addr
		}
		return endpoint{
			scheme: t.url.Scheme,
			addr:   addr,
			host:   host,
			dial:   plainDialer.DialContext,
		}, nil
	}
	if port == 0 {
		port = t.port
	}
	if t.host.Dialer == nil {
		return endpoint{}, fmt.Errorf("%w: %s gate on %s needs a Dialer to reach it", ErrUnsupportedTarget, gate, t)
	}
	if port == 0 {
		return endpoint{}, fmt.Errorf("%w: %s gate on %s needs a port: give the target one or set the gate's Port", ErrUnsupportedTarget, gate, t)
	}
	c, err := t.running(ctx, gate)
	if err != nil {
		return endpoint{}, err
	}
	ip := c.IP(t.host.Network)
	if ip == "" {
		if t.host.Network != "" {
			return endpoint{}, fmt.Errorf("container %s has no address on network %s", t.container, t.host.Network)
		}
		return endpoint{}, fmt.Errorf("container %s has no network address", t.container)
	}
	addr := net.JoinHostPort(ip, strconv.Itoa(port))
	return endpoint{scheme: "http", addr: addr, host: addr, dial: t.host.Dialer.DialContext}, nil
}

// running inspects the target's container and returns it if it runs. A
// container that has exited or is gone fails with ErrContainerStopped, since
// waiting longer cannot help; one that is starting or restarting fails only this try.
func (t Target) running(ctx context.Context, gate string) (engine.Container, error) {
	if t.container == "" {
		return engine.Container{}, fmt.Errorf("%w: a %s gate checks a container, not %s", ErrUnsupportedTarget, gate, t)
	}
	if t.host.Inspector == nil {
		return engine.Container{}, fmt.Errorf("%w: %s gate on %s needs an Inspector", ErrUnsupportedTarget, gate, t)
	}
	c, err := t.host.Inspector.Inspect(ctx, t.container)
	if errors.Is(err, engine.ErrNotFound) {
		return c, fmt.Errorf("%w: container %s is gone: %w", ErrContainerStopped, t.container, err)
	}
	if err != nil {
		return c, fmt.Errorf("inspect container %s: %w", t.container, err)
	}
	switch c.State {
	case engine.StateRunning:
		return c, nil
	case engine.StateExited, engine.StateDead:
		return c, fmt.Errorf("%w: container %s %s", ErrContainerStopped, t.container, exitSummary(c))
	default:
		return c, fmt.Errorf("container %s is %s", t.container, c.State)
	}
}

// exitSummary says how a container ended: "exited with code 137 (OOM-killed)".
func exitSummary(c engine.Container) string {
	s := fmt.Sprintf("%s with code %d", c.State, c.ExitCode)
	if c.OOMKilled {
		s += " (OOM-killed)"
	}
	if c.Error != "" {
		s += ": " + c.Error
	}
	return s
}
