package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moby/moby/client"
)

// ErrNoAnswer is the cause of every error from a call that the engine left
// unanswered for longer than Options allow (a hung or stopped dockerd, or
// a transport that passes nothing); test for it with errors.Is. Such an
// error also matches context.DeadlineExceeded. When the caller's own ctx
// ends first, the error is the caller's, as from any other I/O.
var ErrNoAnswer = errors.New("the engine did not answer")

// noAnswerError says how long the engine was waited for.
type noAnswerError struct{ waited string }

func (e *noAnswerError) Error() string {
	return e.waited + ": check that dockerd there runs and is not overloaded"
}

func (e *noAnswerError) Is(target error) bool {
	return target == ErrNoAnswer || target == context.DeadlineExceeded
}

// call runs one call that the engine answers at once, bounded by limit
// within the caller's ctx, and explains its error.
func call[T any](ctx context.Context, e *Engine, limit time.Duration, fn func(context.Context) (T, error)) (T, error) {
	cctx, cancel := context.WithTimeoutCause(ctx, limit, &noAnswerError{fmt.Sprintf("no answer within %s", limit)})
	defer cancel()
	v, err := fn(cctx)
	if err != nil {
		err = e.explain(ctx, cctx, err)
	}
	return v, err
}

// explain turns err, from a call made under cctx (derived from the
// caller's ctx), into the error to report: why cctx ended the call when
// it did so on its own, and otherwise what really went wrong.
func (e *Engine) explain(ctx, cctx context.Context, err error) error {
	if ctx.Err() == nil && cctx.Err() != nil {
		if cause := context.Cause(cctx); cause != nil && cause != cctx.Err() {
			return cause
		}
	}
	return e.cause(err)
}

// A watch runs beside a call whose length nobody knows (a stream, or a
// stop that waits for as long as it takes). Whenever the call has moved
// no byte for the idle timeout, the watch pings the engine, and it ends
// the call when that ping fails: a quiet stream is fine, a silent engine
// is not.
type watch struct {
	e      *Engine
	parent context.Context // the caller's
	ctx    context.Context // the call's; ended when the engine stops answering
	stop   func()
	last   atomic.Int64 // when a byte last moved, in Unix nanoseconds
}

// watch starts watching a call made under the returned watch's ctx; the
// caller must stop it when the call is over.
func (e *Engine) watch(ctx context.Context) *watch {
	wctx, cancel := context.WithCancelCause(ctx)
	w := &watch{e: e, parent: ctx, ctx: wctx}
	w.moved()
	var once sync.Once
	w.stop = func() { once.Do(func() { cancel(nil) }) }
	go func() {
		timer := time.NewTimer(e.idleTimeout)
		defer timer.Stop()
		for {
			select {
			case <-wctx.Done():
				return
			case <-timer.C:
			}
			if quiet := time.Since(time.Unix(0, w.last.Load())); quiet < e.idleTimeout {
				timer.Reset(e.idleTimeout - quiet)
				continue
			}
			if err := e.alive(wctx); err != nil {
				if wctx.Err() == nil {
					cancel(err)
				}
				return
			}
			timer.Reset(e.idleTimeout)
		}
	}()
	return w
}

// moved records progress: a byte went to or came from the engine.
func (w *watch) moved() { w.last.Store(time.Now().UnixNano()) }

// explain is Engine.explain for the watched call.
func (w *watch) explain(err error) error { return w.e.explain(w.parent, w.ctx, err) }

// reader counts what passes through r as progress.
func (w *watch) reader(r io.Reader) io.Reader { return &watchedReader{r: r, w: w} }

type watchedReader struct {
	r io.Reader
	w *watch
}

func (r *watchedReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		r.w.moved()
	}
	return n, err
}

// alive pings the engine on behalf of a quiet call.
func (e *Engine) alive(ctx context.Context) error {
	_, err := call(ctx, e, e.callTimeout, func(ctx context.Context) (client.PingResult, error) {
		return e.api.Ping(ctx, client.PingOptions{})
	})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrNoAnswer):
		return &noAnswerError{fmt.Sprintf("no progress for %s, then no answer to a ping within %s", e.idleTimeout, e.callTimeout)}
	default:
		return fmt.Errorf("no progress for %s, then a ping failed: %w", e.idleTimeout, err)
	}
}
