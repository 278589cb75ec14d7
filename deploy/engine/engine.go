package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
)

// DefaultSocket is where dockerd listens on a stock Linux host.
const DefaultSocket = "/var/run/docker.sock"

// ErrNotFound is the cause of every error about a container, image or
// network that does not exist; test for it with errors.Is.
var ErrNotFound = errors.New("not found")

// DialFunc opens a new connection to the engine's API socket.
type DialFunc func(ctx context.Context) (net.Conn, error)

// The timeouts Options leave at zero.
const (
	// DefaultCallTimeout bounds a call the engine answers at once.
	DefaultCallTimeout = 30 * time.Second
	// DefaultIdleTimeout is how long a stream may be quiet before the engine is asked whether it still answers.
	DefaultIdleTimeout = 15 * time.Second
)

// Options say where the engine is and how long to wait for it. Host and
// Socket only appear in error messages.
type Options struct {
	// Host names the machine the engine runs on, such as "root@10.250.1.2".
	Host string
	// Socket is the path of the engine's API socket on that machine; "" means DefaultSocket.
	Socket string

	// CallTimeout bounds each call the engine answers at once: ping,
	// version, create, start, inspect, list, rename, remove, tag, the
	// network and volume calls, copying files in, and each step of an
	// exec but its output. A stop with a timeout gets that timeout on
	// top. A call left unanswered fails with an error that matches
	// ErrNoAnswer and context.DeadlineExceeded. 0 means DefaultCallTimeout.
	CallTimeout time.Duration

	// IdleTimeout watches the calls whose length nobody knows: logs,
	// an exec's output, pulls, builds, image load and save, and a stop
	// that waits for as long as it takes. Each time such a call has
	// moved no byte either way for IdleTimeout, the engine is pinged;
	// the call fails with ErrNoAnswer when that ping is not answered
	// within CallTimeout. A quiet stream whose engine still answers (a
	// follow of an app that logs nothing, a build step that compiles)
	// lasts as long as the caller's ctx allows. 0 means DefaultIdleTimeout.
	IdleTimeout time.Duration
}

// Engine is a client of one host's Docker engine, safe for concurrent use.
type Engine struct {
	api    *client.Client
	dialFn DialFunc
	host   string
	socket string

	callTimeout time.Duration
	idleTimeout time.Duration

	mu      sync.Mutex
	dialErr error // the outcome of the last dial, a clearer cause than the client's

	// ensureMu makes NetworkEnsure's look-then-create one step for the
	// callers that share this engine: the lab's engine (API 1.41) does
	// not refuse a taken network name.
	ensureMu sync.Mutex
}

// Version describes the engine software on a host.
type Version struct {
	Server string // the engine's release, such as "20.10.24"
	API    string // the newest API version the engine speaks, such as "1.41"
	OS     string // such as "linux"
	Arch   string // such as "amd64"
}

// New connects to the engine reached through dial and pings it once,
// settling on the newest API version both sides speak.
func New(ctx context.Context, dial DialFunc, opts Options) (*Engine, error) {
	if opts.Socket == "" {
		opts.Socket = DefaultSocket
	}
	if opts.Host == "" {
		opts.Host = "unnamed host"
	}
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = DefaultCallTimeout
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = DefaultIdleTimeout
	}
	e := &Engine{dialFn: dial, host: opts.Host, socket: opts.Socket, callTimeout: opts.CallTimeout, idleTimeout: opts.IdleTimeout}
	api, err := client.New(
		client.WithHost("unix://"+opts.Socket),
		// After WithHost, which installs a dialer for a local socket.
		client.WithDialContext(func(ctx context.Context, _, _ string) (net.Conn, error) {
			return e.dial(ctx)
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("docker engine on %s: socket %s: %w", e.host, e.socket, err)
	}
	e.api = api
	if err := e.Ping(ctx); err != nil {
		_ = api.Close()
		return nil, err
	}
	return e, nil
}

// Close releases the engine's idle connections; it does not close whatever dial dials through.
func (e *Engine) Close() error {
	return e.api.Close()
}

// Ping checks that the engine answers; the first ping settles the API version.
func (e *Engine) Ping(ctx context.Context) error {
	_, err := call(ctx, e, e.callTimeout, func(ctx context.Context) (client.PingResult, error) {
		return e.api.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true})
	})
	switch {
	case errors.Is(err, ErrNoAnswer):
		return fmt.Errorf("docker engine on %s: socket %s: %w", e.host, e.socket, err)
	case err != nil:
		return fmt.Errorf("docker engine on %s: socket %s: %w: check that dockerd runs there and Server.DockerSocket names its socket",
			e.host, e.socket, err)
	}
	return nil
}

// Version reports the engine's release, API version and platform.
func (e *Engine) Version(ctx context.Context) (Version, error) {
	v, err := call(ctx, e, e.callTimeout, func(ctx context.Context) (client.ServerVersionResult, error) {
		return e.api.ServerVersion(ctx, client.ServerVersionOptions{})
	})
	if err != nil {
		return Version{}, fmt.Errorf("docker version on %s: %w", e.host, err)
	}
	return Version{Server: v.Version, API: v.APIVersion, OS: v.Os, Arch: v.Arch}, nil
}

func (e *Engine) dial(ctx context.Context) (net.Conn, error) {
	conn, err := e.dialFn(ctx)
	e.mu.Lock()
	e.dialErr = err
	e.mu.Unlock()
	return conn, err
}

// cause makes an error from the client say what really went wrong: a
// missing object matches ErrNotFound, and a failed connection reports the
// dial error rather than the client's advice about a local daemon.
func (e *Engine) cause(err error) error {
	if cerrdefs.IsNotFound(err) {
		return notFoundError{err}
	}
	if client.IsErrConnectionFailed(err) {
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.dialErr != nil {
			return e.dialErr
		}
	}
	return err
}

// notFoundError keeps the engine's message ("No such container: web")
// while matching ErrNotFound.
type notFoundError struct{ err error }

func (e notFoundError) Error() string        { return e.err.Error() }
func (e notFoundError) Unwrap() error        { return e.err }
func (e notFoundError) Is(target error) bool { return target == ErrNotFound }
