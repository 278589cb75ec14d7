package health_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/slipwayhq/slipway/health"
)

// fast is an HTTP gate with timings short enough for tests.
func fast(g health.HTTP) health.HTTP {
	if g.Interval == 0 {
		g.Interval = 10 * time.Millisecond
	}
	if g.Timeout == 0 {
		g.Timeout = 500 * time.Millisecond
	}
	if g.Deadline == 0 {
		g.Deadline = 3 * time.Second
	}
	return g
}

// app starts a test server whose handler the test supplies, closed when the test ends.
func app(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func TestWaitHTTP(t *testing.T) {
	t.Run("passes after the app's boot delay", func(t *testing.T) {
		defer goleak.VerifyNone(t)
		bootedAt := time.Now().Add(200 * time.Millisecond)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/up" {
				http.NotFound(w, r)
				return
			}
			if time.Now().Before(bootedAt) {
				http.Error(w, "booting", http.StatusServiceUnavailable)
				return
			}
			fmt.Fprintln(w, "ok")
		}))
		defer srv.Close()

		res, err := health.Wait(context.Background(), fast(health.HTTP{}), health.URL(srv.URL))
		require.NoError(t, err)
		assert.True(t, res.Passed())
		assert.Equal(t, health.OutcomePassed, res.Outcome)
		assert.Greater(t, res.Attempts, 1)
		assert.GreaterOrEqual(t, res.TimeToHealthy, 150*time.Millisecond)
		// Wait stops at the first passing attempt: the time to healthy is
		// the whole wait, counted, not bounded by a clock (a timed bound
		// fails on a loaded machine and proves nothing).
		assert.LessOrEqual(t, res.TimeToHealthy, res.Elapsed)
		last := res.Last[len(res.Last)-1]
		assert.True(t, last.Passed)
		assert.Equal(t, "200 OK", last.Status)
		assert.Equal(t, 200, last.Code)
		assert.Equal(t, res.Attempts, last.Number)
		assert.LessOrEqual(t, len(res.Last), health.KeptAttempts)
	})

	t.Run("passes once the app starts listening", func(t *testing.T) {
		defer goleak.VerifyNone(t)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := ln.Addr().String()
		require.NoError(t, ln.Close())

		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })}
		served := make(chan error, 1)
		timer := time.AfterFunc(150*time.Millisecond, func() {
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				served <- err
				return
			}
			served <- srv.Serve(ln)
		})
		defer timer.Stop()

		res, err := health.Wait(context.Background(), fast(health.HTTP{}), health.URL("http://"+addr))
		require.NoError(t, err)
		assert.Greater(t, res.Attempts, 1)
		require.NoError(t, srv.Close())
		assert.ErrorIs(t, <-served, http.ErrServerClosed)
	})

	t.Run("fails at its deadline with the last attempts", func(t *testing.T) {
		defer goleak.VerifyNone(t)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "unhealthy: sqlite", http.StatusServiceUnavailable)
		}))
		defer srv.Close()

		start := time.Now()
		res, err := health.Wait(context.Background(), fast(health.HTTP{Deadline: 300 * time.Millisecond}), health.URL(srv.URL))
		elapsed := time.Since(start)
		require.Error(t, err)
		assert.ErrorIs(t, err, health.ErrDeadline)
		assert.Equal(t, res.Err, err)
		assert.False(t, res.Passed())
		assert.Equal(t, health.OutcomeDeadline, res.Outcome)
		assert.GreaterOrEqual(t, elapsed, 300*time.Millisecond)
		assert.Less(t, elapsed, time.Second)
		assert.Zero(t, res.TimeToHealthy)
		require.Len(t, res.Last, health.KeptAttempts)
		for i, a := range res.Last {
			assert.Equal(t, res.Attempts-health.KeptAttempts+i+1, a.Number)
			assert.Equal(t, 503, a.Code)
			assert.Equal(t, "503 Service Unavailable", a.Status)
			assert.Equal(t, "unhealthy: sqlite\n", a.Body)
			assert.EqualError(t, a.Err, "status 503 is outside 200-399")
			assert.Positive(t, a.Latency)
		}
		assert.Contains(t, err.Error(), "deadline reached (300ms); last try: status 503 is outside 200-399")
		assert.Contains(t, res.String(), "deadline 300ms reached after")
	})

	t.Run("honours the cancellation of its context", func(t *testing.T) {
		defer goleak.VerifyNone(t)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done() // never answers
		}))
		defer srv.Close()

		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		start := time.Now()
		res, err := health.Wait(ctx, health.HTTP{Timeout: 10 * time.Second}, health.URL(srv.URL))
		assert.Less(t, time.Since(start), time.Second)
		assert.ErrorIs(t, err, context.Canceled)
		assert.Equal(t, health.OutcomeCanceled, res.Outcome)
		require.Len(t, res.Last, 1)
		assert.ErrorIs(t, res.Last[0].Err, context.Canceled)
	})

	t.Run("honours the deadline of its context", func(t *testing.T) {
		defer goleak.VerifyNone(t)
		srv := app(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) })
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		res, err := health.Wait(ctx, fast(health.HTTP{}), health.URL(srv.URL))
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, health.OutcomeCanceled, res.Outcome)
		srv.Close()
	})

	t.Run("gives up on a try at its timeout and tries again", func(t *testing.T) {
		defer goleak.VerifyNone(t)
		var n atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) == 1 {
				select {
				case <-r.Context().Done():
				case <-time.After(2 * time.Second):
				}
				return
			}
			fmt.Fprintln(w, "ok")
		}))
		defer srv.Close()

		res, err := health.Wait(context.Background(), fast(health.HTTP{Timeout: 50 * time.Millisecond}), health.URL(srv.URL))
		require.NoError(t, err)
		require.Equal(t, 2, res.Attempts)
		assert.EqualError(t, res.Last[0].Err, "no answer within 50ms")
		assert.Empty(t, res.Last[0].Status)
		assert.GreaterOrEqual(t, res.Last[1].At, 50*time.Millisecond)
	})

	t.Run("needs consecutive successes", func(t *testing.T) {
		// 200 503 200 200 503 200 200 200: the third streak of successes is long enough.
		codes := []int{200, 503, 200, 200, 503, 200, 200, 200, 503}
		var n atomic.Int32
		srv := app(t, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(codes[min(int(n.Add(1))-1, len(codes)-1)])
		})
		res, err := health.Wait(context.Background(), fast(health.HTTP{Successes: 3}), health.URL(srv.URL))
		require.NoError(t, err)
		assert.Equal(t, 8, res.Attempts)
		assert.EqualValues(t, 8, n.Load())
	})

	t.Run("fails at its deadline when successes do not last", func(t *testing.T) {
		var n atomic.Int32
		srv := app(t, func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1)%2 == 0 {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
		})
		_, err := health.Wait(context.Background(), fast(health.HTTP{Successes: 2, Deadline: 200 * time.Millisecond}), health.URL(srv.URL))
		assert.ErrorIs(t, err, health.ErrDeadline)
	})

	t.Run("looks for its body text", func(t *testing.T) {
		var n atomic.Int32
		srv := app(t, func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) < 3 {
				fmt.Fprintln(w, "booting")
				return
			}
			fmt.Fprintln(w, "status: ready")
		})
		res, err := health.Wait(context.Background(), fast(health.HTTP{Body: "ready"}), health.URL(srv.URL))
		require.NoError(t, err)
		assert.Equal(t, 3, res.Attempts)
		assert.EqualError(t, res.Last[0].Err, `body does not contain "ready"`)
		assert.Equal(t, "booting\n", res.Last[0].Body)
	})

	t.Run("sends its Host header and path with query", func(t *testing.T) {
		got := make(chan string, 1)
		srv := app(t, func(w http.ResponseWriter, r *http.Request) {
			got <- r.Host + " " + r.URL.RequestURI() + " " + r.UserAgent()
		})
		_, err := health.Wait(context.Background(), fast(health.HTTP{Path: "/ready?deep=1", Host: "app.example.com"}), health.URL(srv.URL))
		require.NoError(t, err)
		assert.Equal(t, "app.example.com /ready?deep=1 slipway-health", <-got)
	})

	t.Run("sends the target's host when it has no Host header of its own", func(t *testing.T) {
		got := make(chan string, 1)
		srv := app(t, func(w http.ResponseWriter, r *http.Request) { got <- r.Host })
		_, err := health.Wait(context.Background(), fast(health.HTTP{}), health.URL(srv.URL))
		require.NoError(t, err)
		assert.Equal(t, srv.Listener.Addr().String(), <-got)
	})

	t.Run("judges a redirect by its status without following it", func(t *testing.T) {
		var followed atomic.Bool
		srv := app(t, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/elsewhere" {
				followed.Store(true)
			}
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		})
		res, err := health.Wait(context.Background(), fast(health.HTTP{}), health.URL(srv.URL))
		require.NoError(t, err)
		assert.Equal(t, 302, res.Last[0].Code)
		assert.False(t, followed.Load())

		_, err = health.Wait(context.Background(), fast(health.HTTP{Status: health.StatusRange{Min: 200, Max: 299}, Deadline: 50 * time.Millisecond}), health.URL(srv.URL))
		assert.ErrorIs(t, err, health.ErrDeadline)
	})

	t.Run("keeps a short excerpt of a long body", func(t *testing.T) {
		srv := app(t, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusInternalServerError)
			for range 1000 {
				io.WriteString(w, "é") // two bytes each
			}
		})
		res, _ := health.Wait(context.Background(), fast(health.HTTP{Deadline: 30 * time.Millisecond}), health.URL(srv.URL))
		require.NotEmpty(t, res.Last)
		assert.Len(t, res.Last[0].Body, health.ExcerptLimit)
	})

	t.Run("reports a TLS failure on an https target", func(t *testing.T) {
		defer goleak.VerifyNone(t)
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		srv.Config.ErrorLog = log.New(io.Discard, "", 0)
		srv.StartTLS()
		defer srv.Close()
		res, err := health.Wait(context.Background(), health.HTTP{Interval: time.Second, Deadline: 500 * time.Millisecond}, health.URL(srv.URL))
		require.Error(t, err)
		assert.Contains(t, res.Last[0].Err.Error(), "tls handshake with 127.0.0.1:")
	})
}

func TestWaitTCP(t *testing.T) {
	t.Run("passes when the port accepts", func(t *testing.T) {
		defer goleak.VerifyNone(t)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer ln.Close()
		res, err := health.Wait(context.Background(), health.TCP{}, health.URL(ln.Addr().String()))
		require.NoError(t, err)
		assert.Equal(t, 1, res.Attempts)
		assert.Equal(t, "connected", res.Last[0].Status)
		assert.Regexp(t, `^tcp connect on tcp://127\.0\.0\.1:\d+: passed after 1 attempt in [0-9.]+(µs|ms)$`, res.String())
	})

	t.Run("connects to its own port instead of the URL's", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer ln.Close()
		port := ln.Addr().(*net.TCPAddr).Port
		_, err = health.Wait(context.Background(), health.TCP{Port: port}, health.URL("http://127.0.0.1:1"))
		require.NoError(t, err)
	})

	t.Run("fails at its deadline when nothing listens", func(t *testing.T) {
		defer goleak.VerifyNone(t)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := ln.Addr().String()
		require.NoError(t, ln.Close())
		res, err := health.Wait(context.Background(), health.TCP{Interval: 10 * time.Millisecond, Deadline: 100 * time.Millisecond}, health.URL("tcp://"+addr))
		assert.ErrorIs(t, err, health.ErrDeadline)
		assert.Contains(t, res.Last[len(res.Last)-1].Err.Error(), "connection refused")
	})
}

func TestWaitRefusesBadInput(t *testing.T) {
	t.Run("an invalid gate fails before any try", func(t *testing.T) {
		res, err := health.Wait(context.Background(), health.HTTP{Path: "up", Interval: -1}, health.URL("http://127.0.0.1:1"))
		require.Error(t, err)
		assert.Equal(t, health.OutcomeNone, res.Outcome)
		assert.Zero(t, res.Attempts)
		assert.Contains(t, err.Error(), `health.http.path: must start with "/"`)
		var fe *health.FieldError
		assert.ErrorAs(t, err, &fe)
	})

	for _, raw := range []string{"ftp://example.com", "http://", "127.0.0.1", "http://[::1"} {
		t.Run("a malformed URL "+raw+" fails before any try", func(t *testing.T) {
			res, err := health.Wait(context.Background(), health.TCP{}, health.URL(raw))
			require.Error(t, err)
			assert.Zero(t, res.Attempts)
			assert.Contains(t, err.Error(), fmt.Sprintf("target URL %q", raw))
		})
	}

	t.Run("the zero target fails before any try", func(t *testing.T) {
		_, err := health.Wait(context.Background(), health.TCP{}, health.Target{})
		assert.ErrorContains(t, err, "empty target")
	})

	t.Run("a container gate on a URL gives up at once", func(t *testing.T) {
		for _, g := range []health.Gate{health.Command{Cmd: []string{"/check"}}, health.Docker{}} {
			res, err := health.Wait(context.Background(), g, health.URL("http://127.0.0.1:1"))
			assert.ErrorIs(t, err, health.ErrUnsupportedTarget)
			assert.Equal(t, health.OutcomeAborted, res.Outcome)
			assert.Equal(t, 1, res.Attempts)
		}
	})
}

func TestOutcomeString(t *testing.T) {
	for o, want := range map[health.Outcome]string{
		health.OutcomeNone: "not run", health.OutcomePassed: "passed", health.OutcomeDeadline: "deadline reached",
		health.OutcomeAborted: "aborted", health.OutcomeCanceled: "canceled", health.Outcome(9): "Outcome(9)",
	} {
		assert.Equal(t, want, o.String())
	}
	assert.False(t, errors.Is(health.ErrDeadline, health.ErrContainerStopped))
}
