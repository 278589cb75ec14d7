package health

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Defaults of the HTTP gate.
const (
	// DefaultPath is the path an HTTP gate requests, the one an app mounts health/up's Handler at.
	DefaultPath = "/up"
	// DefaultStatusMin and DefaultStatusMax bound the accepted status codes:
	// any success or redirect.
	DefaultStatusMin = 200
	DefaultStatusMax = 399
)

// bodyMatchLimit is how much of a response body an HTTP gate reads to
// look for HTTP.Body: a health body is small, and the limit keeps a
// misrouted gate from reading a large page.
const bodyMatchLimit = 64 << 10

// ExcerptLimit caps the body or output excerpt an Attempt keeps, in bytes.
// It is exported because code that reads Attempt.Body (a report, an
// alert) needs to know that a longer body was cut there.
const ExcerptLimit = 200

// HTTP is a gate that passes when GET Path answers with a status in Status
// (and, if Body is set, a body containing it). Redirects are not followed:
// a 3xx is judged by Status like any other code. Each try opens a new
// connection and closes it after.
type HTTP struct {
	// Path is requested on the target, query included; DefaultPath when empty.
	// It must start with "/" and hold no spaces or control characters.
	Path string
	// Status is the range of accepted codes; DefaultStatusMin-DefaultStatusMax when zero.
	Status StatusRange
	// Body, when set, must appear as a plain substring (not a pattern) in
	// the first 64 KiB of the response body.
	Body string
	// Host is sent as the Host header; the target's host:port when empty.
	Host string
	// Port, when set, is connected to instead of the target's port (a
	// container target's app port, or a URL's), such as a worker's
	// separate health port.
	Port int

	Interval  time.Duration // between the starts of two tries; DefaultInterval when zero
	Timeout   time.Duration // for one try; DefaultTimeout when zero
	Successes int           // consecutive passing tries needed; DefaultSuccesses when zero
	Deadline  time.Duration // for the whole wait; DefaultDeadline when zero
}

var _ Gate = HTTP{}

// StatusRange is an inclusive range of HTTP status codes. The zero value
// means the gate's default; a single code is {Min: 204, Max: 204}.
type StatusRange struct {
	Min int // the lowest accepted code
	Max int // the highest accepted code
}

// Contains reports whether code lies in the range.
func (r StatusRange) Contains(code int) bool { return r.Min <= code && code <= r.Max }

// String returns "200-399", or "204" for a single code.
func (r StatusRange) String() string {
	if r.Min == r.Max {
		return strconv.Itoa(r.Min)
	}
	return fmt.Sprintf("%d-%d", r.Min, r.Max)
}

// Name returns "http".
func (g HTTP) Name() string { return "http" }

// String describes the gate: "http GET /up (200-399)", with the port and
// the body match if there are.
func (g HTTP) String() string {
	g = g.WithDefaults()
	s := fmt.Sprintf("http GET %s (%s)", g.Path, g.Status)
	if g.Port != 0 {
		s = fmt.Sprintf("http GET :%d%s (%s)", g.Port, g.Path, g.Status)
	}
	if g.Body != "" {
		s += fmt.Sprintf(" containing %q", g.Body)
	}
	return s
}

// Policy returns the gate's timing with defaults applied.
func (g HTTP) Policy() Policy {
	return Policy{Interval: g.Interval, Timeout: g.Timeout, Successes: g.Successes, Deadline: g.Deadline}.WithDefaults()
}

// WithDefaults returns g with every zero field set to its default, as Wait uses it.
func (g HTTP) WithDefaults() HTTP {
	if g.Path == "" {
		g.Path = DefaultPath
	}
	if g.Status == (StatusRange{}) {
		g.Status = StatusRange{Min: DefaultStatusMin, Max: DefaultStatusMax}
	}
	p := g.Policy()
	g.Interval, g.Timeout, g.Successes, g.Deadline = p.Interval, p.Timeout, p.Successes, p.Deadline
	return g
}

// Validate returns every problem with the gate, joined, each naming its
// field under "health.http".
func (g HTTP) Validate() error { return validate(g) }

// ValidateAt returns every problem with the gate, each a *FieldError under path.
func (g HTTP) ValidateAt(path string) []error {
	var errs []error
	if g.Path != "" {
		if p := badPath(g.Path); p != "" {
			errs = append(errs, fieldErrorf(path, "path", "%s, got %q", p, g.Path))
		}
	}
	if g.Status != (StatusRange{}) {
		for _, f := range []struct {
			name string
			v    int
		}{{"status.min", g.Status.Min}, {"status.max", g.Status.Max}} {
			if f.v < 100 || f.v > 599 {
				errs = append(errs, fieldErrorf(path, f.name, "must be an HTTP status code (100-599), got %d", f.v))
			}
		}
		if g.Status.Min > g.Status.Max {
			errs = append(errs, fieldErrorf(path, "status", "min %d is above max %d", g.Status.Min, g.Status.Max))
		}
	}
	if g.Port < 0 || g.Port > 65535 {
		errs = append(errs, fieldErrorf(path, "port", "must be a port number (1-65535), got %d", g.Port))
	}
	if g.Host != "" && strings.ContainsFunc(g.Host, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '/' }) {
		errs = append(errs, fieldErrorf(path, "host", "must be a host name with an optional port, got %q", g.Host))
	}
	return append(errs, Policy{Interval: g.Interval, Timeout: g.Timeout, Successes: g.Successes, Deadline: g.Deadline}.validateAt(path)...)
}

// badPath says what is wrong with an HTTP gate's path, or "" if nothing is.
func badPath(p string) string {
	switch {
	case !strings.HasPrefix(p, "/"):
		return `must start with "/"`
	case strings.ContainsFunc(p, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		return "must not contain spaces or control characters"
	case strings.Contains(p, "#"):
		return "must not contain a fragment (#)"
	}
	if _, err := url.ParseRequestURI(p); err != nil {
		return "must be a valid request path"
	}
	return ""
}

// Try makes one GET request to the target and judges the answer.
func (g HTTP) Try(ctx context.Context, t Target) Attempt {
	g = g.WithDefaults()
	ep, err := t.endpoint(ctx, g.Name(), g.Port)
	if err != nil {
		return Attempt{Err: err}
	}
	scheme := "http"
	if ep.scheme == "https" {
		scheme = "https"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+ep.addr+g.Path, nil)
	if err != nil {
		return Attempt{Err: fmt.Errorf("build request: %w", err)}
	}
	req.Host = ep.host
	if g.Host != "" {
		req.Host = g.Host
	}
	req.Close = true
	req.Header.Set("User-Agent", "slipway-health")

	start := time.Now()
	resp, body, err := roundTrip(ctx, ep, req)
	a := Attempt{Latency: time.Since(start)}
	if resp == nil {
		a.Err = err
		return a
	}
	a.Status = strings.TrimSpace(resp.Status)
	a.Code = resp.StatusCode
	a.Body = excerpt(t.redact(body)) // redacted whole, before the cut
	switch {
	case !g.Status.Contains(resp.StatusCode):
		a.Err = fmt.Errorf("status %d is outside %s", resp.StatusCode, g.Status)
	case g.Body != "" && !bytes.Contains(body, []byte(g.Body)):
		a.Err = fmt.Errorf("body does not contain %q", g.Body)
		if err != nil {
			a.Err = fmt.Errorf("%w (reading it failed: %w)", a.Err, err)
		}
	default:
		a.Passed = true
	}
	return a
}

// roundTrip sends req over a connection of its own, reads the response
// head and up to bodyMatchLimit of its body, and closes the connection
// before it returns, so no goroutine outlives the try. It returns a
// response whenever a head was read, with any error reading the body.
func roundTrip(ctx context.Context, ep endpoint, req *http.Request) (*http.Response, []byte, error) {
	conn, err := ep.dial(ctx, "tcp", ep.addr)
	if err != nil {
		return nil, nil, orCtx(ctx, err)
	}
	defer conn.Close()
	// Not every Dialer's connections support deadlines (SSH channels do not),
	// so ctx closes the connection; a close under way is waited for, so that
	// nothing outlives the try.
	closed := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		_ = conn.Close()
		close(closed)
	})
	defer func() {
		if !stop() {
			<-closed
		}
	}()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	if req.URL.Scheme == "https" {
		host, _, _ := net.SplitHostPort(req.Host)
		if host == "" {
			host = req.Host
		}
		tc := tls.Client(conn, &tls.Config{ServerName: host})
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, nil, orCtx(ctx, fmt.Errorf("tls handshake with %s: %w", ep.addr, err))
		}
		conn = tc
	}
	if err := req.Write(conn); err != nil {
		return nil, nil, orCtx(ctx, fmt.Errorf("send %s %s to %s: %w", req.Method, req.URL.Path, ep.addr, err))
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		return nil, nil, orCtx(ctx, fmt.Errorf("read response from %s: %w", ep.addr, err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, bodyMatchLimit))
	if err != nil {
		err = orCtx(ctx, fmt.Errorf("read body: %w", err))
	}
	return resp, body, err
}

// orCtx prefers ctx's error to err once ctx has ended, since closing the
// connection on cancellation turns into "use of closed network connection".
func orCtx(ctx context.Context, err error) error {
	if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		return ctx.Err()
	}
	return err
}
