package up

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultCacheFor is how long a Handler reuses its checks' results.
const DefaultCacheFor = 1 * time.Second

// DefaultCheckTimeout bounds one run of a Check whose Timeout is zero.
const DefaultCheckTimeout = 500 * time.Millisecond

// Check is one named readiness check a Handler runs, such as SQLite,
// Writable or Func. Run must honour ctx: a run that ignores it is reported
// failed at its timeout, but keeps its goroutine until it returns, and the
// check is not started again until it does.
type Check struct {
	Name    string                          // names the check in the 503 body; keep it unique in a Handler
	Timeout time.Duration                   // bounds one run; DefaultCheckTimeout when zero
	Run     func(ctx context.Context) error // nil error means healthy
	Close   func() error                    // releases what Run holds; nil when it holds nothing
}

// Handler is the http.Handler an app mounts at GET /up. It runs its
// Checks concurrently, each within its Timeout, and answers 200 "ok" when
// all pass and 503 naming the failed checks otherwise. Results are reused
// for CacheFor; requests that arrive while the checks run wait for that one
// run and share its result. Only GET and HEAD are allowed (405 otherwise).
// A Handler calls nothing outside the app unless one of its Checks does.
//
// Set the fields before the first request and do not change them after;
// call Close when the app shuts down.
type Handler struct {
	// Checks are run on each refresh, all at once; none means always healthy.
	Checks []Check
	// CacheFor is how long a result is reused; DefaultCacheFor when zero,
	// and no reuse at all (but still one run at a time) when negative.
	CacheFor time.Duration
	// Detail, when true, adds each failed check's error to the 503 body.
	// Errors may name paths and addresses; leave it off where /up is public.
	Detail bool
	// Logger, when set, gets a warning for each failed check on each run.
	Logger *slog.Logger

	initOnce sync.Once
	busy     []atomic.Bool // busy[i]: Checks[i] still runs from an earlier run
	current  atomic.Pointer[verdict]

	mu     sync.Mutex
	flight *flight // the run in progress, if any
}

// NewHandler returns a Handler with the given checks and default settings.
func NewHandler(checks ...Check) *Handler {
	return &Handler{Checks: checks}
}

// verdict is the outcome of one run of all checks, ready to write.
type verdict struct {
	status  int
	body    []byte
	length  string
	expires time.Time
}

type flight struct {
	done chan struct{}
	v    *verdict
}

// ServeHTTP answers GET and HEAD with the checks' verdict.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	v := h.verdict(r.Context())
	if v == nil { // the client went away while the checks ran, or the run failed
		v = &verdict{status: http.StatusServiceUnavailable, body: []byte("unhealthy: no result\n")}
		v.length = strconv.Itoa(len(v.body))
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "text/plain; charset=utf-8")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("Content-Length", v.length)
	w.WriteHeader(v.status)
	if r.Method == http.MethodGet {
		_, _ = w.Write(v.body)
	}
}

// Close closes every check that holds something (such as SQLite's database handle).
func (h *Handler) Close() error {
	var errs []error
	for _, c := range h.Checks {
		if c.Close != nil {
			if err := c.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close check %s: %w", c.Name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// verdict returns a fresh enough verdict, running the checks if there is
// none and waiting for a run already under way; nil if ctx ends first.
func (h *Handler) verdict(ctx context.Context) *verdict {
	if v := h.current.Load(); v != nil && time.Now().Before(v.expires) {
		return v
	}
	h.mu.Lock()
	if v := h.current.Load(); v != nil && time.Now().Before(v.expires) {
		h.mu.Unlock()
		return v
	}
	if f := h.flight; f != nil {
		h.mu.Unlock()
		select {
		case <-f.done:
			return f.v
		case <-ctx.Done():
			return nil
		}
	}
	f := &flight{done: make(chan struct{})}
	h.flight = f
	h.mu.Unlock()

	// The run is not tied to this request: others wait for it too, and are
	// released even if it panics.
	defer func() {
		h.mu.Lock()
		if f.v != nil {
			h.current.Store(f.v)
		}
		h.flight = nil
		h.mu.Unlock()
		close(f.done)
	}()
	f.v = h.run()
	return f.v
}

// run runs every check concurrently, each within its timeout, and renders the verdict.
func (h *Handler) run() *verdict {
	h.initOnce.Do(func() { h.busy = make([]atomic.Bool, len(h.Checks)) })

	type pending struct {
		ctx    context.Context
		cancel context.CancelFunc
		done   chan error
	}
	errs := make([]error, len(h.Checks))
	ps := make([]pending, len(h.Checks))
	for i, c := range h.Checks {
		if c.Run == nil {
			errs[i] = errors.New("check has no Run func")
			continue
		}
		if !h.busy[i].CompareAndSwap(false, true) {
			errs[i] = errors.New("still running from an earlier request")
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeoutOf(c))
		p := pending{ctx: ctx, cancel: cancel, done: make(chan error, 1)}
		ps[i] = p
		go func() {
			err := runCheck(ctx, c.Run)
			h.busy[i].Store(false) // before the result, so the next run never finds it busy
			p.done <- err
		}()
	}
	for i, p := range ps {
		if p.done == nil {
			continue
		}
		select {
		case errs[i] = <-p.done:
		case <-p.ctx.Done():
			errs[i] = fmt.Errorf("no answer within %s", timeoutOf(h.Checks[i]))
		}
		p.cancel()
	}
	return h.render(errs)
}

func timeoutOf(c Check) time.Duration {
	if c.Timeout <= 0 {
		return DefaultCheckTimeout
	}
	return c.Timeout
}

// runCheck runs one check, turning a panic into its error.
func runCheck(ctx context.Context, run func(context.Context) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return run(ctx)
}

func (h *Handler) render(errs []error) *verdict {
	var failed []string
	var detail strings.Builder
	for i, err := range errs {
		if err == nil {
			continue
		}
		name := h.Checks[i].Name
		if name == "" {
			name = "check" + strconv.Itoa(i+1)
		}
		failed = append(failed, name)
		// One line per failure: a joined error's lines are kept on it.
		fmt.Fprintf(&detail, "%s: %s\n", name, strings.ReplaceAll(err.Error(), "\n", "; "))
		if h.Logger != nil {
			h.Logger.Warn("health check failed", "check", name, "err", err)
		}
	}
	v := &verdict{status: http.StatusOK, body: []byte("ok\n")}
	if len(failed) > 0 {
		v.status = http.StatusServiceUnavailable
		v.body = []byte("unhealthy: " + strings.Join(failed, ", ") + "\n")
		if h.Detail {
			v.body = append(v.body, detail.String()...)
		}
	}
	v.length = strconv.Itoa(len(v.body))
	cacheFor := h.CacheFor
	if cacheFor == 0 {
		cacheFor = DefaultCacheFor
	}
	if cacheFor > 0 {
		v.expires = time.Now().Add(cacheFor)
	}
	return v
}
