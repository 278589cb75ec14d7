package uptest_test

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	_ "modernc.org/sqlite"

	"github.com/slipwayhq/slipway/health/up"
)

// get serves one request to h and returns its status and body.
func get(t *testing.T, h http.Handler, method string) (int, string, http.Header) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, "/up", nil))
	return rec.Code, rec.Body.String(), rec.Header()
}

func ok(context.Context) error { return nil }

// counting returns a check that counts its runs and fails with err.
func counting(name string, n *atomic.Int32, err error) up.Check {
	return up.Func(name, func(context.Context) error {
		n.Add(1)
		return err
	})
}

func TestHandler(t *testing.T) {
	t.Run("answers 200 ok when every check passes", func(t *testing.T) {
		h := up.NewHandler(up.Func("db", ok), up.Func("queue", ok))
		code, body, hdr := get(t, h, http.MethodGet)
		assert.Equal(t, http.StatusOK, code)
		assert.Equal(t, "ok\n", body)
		assert.Equal(t, "text/plain; charset=utf-8", hdr.Get("Content-Type"))
		assert.Equal(t, "no-store", hdr.Get("Cache-Control"))
		assert.Equal(t, "3", hdr.Get("Content-Length"))
	})

	t.Run("answers 200 ok with no checks at all", func(t *testing.T) {
		code, body, _ := get(t, up.NewHandler(), http.MethodGet)
		assert.Equal(t, http.StatusOK, code)
		assert.Equal(t, "ok\n", body)
	})

	t.Run("answers 503 naming the failed checks", func(t *testing.T) {
		h := up.NewHandler(
			up.Func("db", ok),
			up.Func("disk", func(context.Context) error { return errors.New("/data is read-only") }),
			up.Func("cache", func(context.Context) error { return errors.New("secret=hunter2") }),
		)
		code, body, _ := get(t, h, http.MethodGet)
		assert.Equal(t, http.StatusServiceUnavailable, code)
		assert.Equal(t, "unhealthy: disk, cache\n", body, "errors stay out of a public body")
	})

	t.Run("adds each failure's error when asked for detail", func(t *testing.T) {
		h := &up.Handler{Detail: true, Checks: []up.Check{
			up.Func("db", ok),
			up.Func("disk", func(context.Context) error { return errors.New("/data is read-only") }),
		}}
		_, body, _ := get(t, h, http.MethodGet)
		assert.Equal(t, "unhealthy: disk\ndisk: /data is read-only\n", body)
	})

	t.Run("answers HEAD with the status and no body", func(t *testing.T) {
		h := up.NewHandler(up.Func("disk", func(context.Context) error { return errors.New("full") }))
		code, body, hdr := get(t, h, http.MethodHead)
		assert.Equal(t, http.StatusServiceUnavailable, code)
		assert.Empty(t, body)
		assert.Equal(t, "16", hdr.Get("Content-Length")) // len("unhealthy: disk\n")

		code, body, _ = get(t, up.NewHandler(), http.MethodHead)
		assert.Equal(t, http.StatusOK, code)
		assert.Empty(t, body)
	})

	t.Run("refuses other methods with 405", func(t *testing.T) {
		var n atomic.Int32
		h := up.NewHandler(counting("db", &n, nil))
		for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodOptions} {
			code, _, hdr := get(t, h, m)
			assert.Equal(t, http.StatusMethodNotAllowed, code, m)
			assert.Equal(t, "GET, HEAD", hdr.Get("Allow"))
		}
		assert.Zero(t, n.Load(), "a refused request runs no check")
	})

	t.Run("reuses results for CacheFor", func(t *testing.T) {
		var n atomic.Int32
		h := &up.Handler{CacheFor: 100 * time.Millisecond, Checks: []up.Check{counting("db", &n, nil)}}
		for range 20 {
			code, _, _ := get(t, h, http.MethodGet)
			require.Equal(t, http.StatusOK, code)
		}
		assert.EqualValues(t, 1, n.Load())
		time.Sleep(150 * time.Millisecond)
		get(t, h, http.MethodGet)
		assert.EqualValues(t, 2, n.Load())
	})

	t.Run("reuses a failure too", func(t *testing.T) {
		var n atomic.Int32
		h := up.NewHandler(counting("db", &n, errors.New("down")))
		for range 5 {
			code, body, _ := get(t, h, http.MethodGet)
			assert.Equal(t, http.StatusServiceUnavailable, code)
			assert.Equal(t, "unhealthy: db\n", body)
		}
		assert.EqualValues(t, 1, n.Load())
	})

	t.Run("runs every time when CacheFor is negative", func(t *testing.T) {
		var n atomic.Int32
		h := &up.Handler{CacheFor: -1, Checks: []up.Check{counting("db", &n, nil)}}
		for range 5 {
			get(t, h, http.MethodGet)
		}
		assert.EqualValues(t, 5, n.Load())
	})

	t.Run("shares one run among concurrent requests", func(t *testing.T) {
		defer goleak.VerifyNone(t)
		var n atomic.Int32
		release := make(chan struct{})
		h := &up.Handler{CacheFor: -1, Checks: []up.Check{{
			Name: "slow", Timeout: 5 * time.Second,
			Run: func(ctx context.Context) error {
				n.Add(1)
				<-release
				return nil
			},
		}}}
		var wg sync.WaitGroup
		codes := make([]int, 64)
		for i := range codes {
			wg.Go(func() { codes[i], _, _ = get(t, h, http.MethodGet) })
		}
		time.Sleep(100 * time.Millisecond) // let every request reach the run in progress
		close(release)
		wg.Wait()
		assert.EqualValues(t, 1, n.Load())
		for _, c := range codes {
			assert.Equal(t, http.StatusOK, c)
		}
	})

	t.Run("serves concurrent requests while results expire", func(t *testing.T) {
		defer goleak.VerifyNone(t)
		var n atomic.Int32
		var fail atomic.Bool
		h := &up.Handler{CacheFor: 2 * time.Millisecond, Checks: []up.Check{
			up.Func("db", func(context.Context) error {
				n.Add(1)
				if fail.Load() {
					return errors.New("down")
				}
				return nil
			}),
			up.Func("disk", ok),
		}}
		var wg sync.WaitGroup
		var served atomic.Int32
		for g := range 16 {
			wg.Go(func() {
				for i := range 200 {
					if g == 0 && i == 100 {
						fail.Store(true)
					}
					code, body, _ := get(t, h, http.MethodGet)
					if code != http.StatusOK && (code != http.StatusServiceUnavailable || body != "unhealthy: db\n") {
						t.Errorf("got %d %q", code, body)
					}
					served.Add(1)
				}
			})
		}
		wg.Wait()
		assert.EqualValues(t, 16*200, served.Load())
		assert.Less(t, n.Load(), served.Load(), "most requests were served from the cache")
	})

	t.Run("runs its checks concurrently", func(t *testing.T) {
		sleep := func(ctx context.Context) error {
			select {
			case <-time.After(100 * time.Millisecond):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		h := up.NewHandler(up.Func("a", sleep), up.Func("b", sleep), up.Func("c", sleep))
		start := time.Now()
		code, _, _ := get(t, h, http.MethodGet)
		assert.Equal(t, http.StatusOK, code)
		assert.Less(t, time.Since(start), 250*time.Millisecond)
	})

	t.Run("fails a check at its own timeout", func(t *testing.T) {
		h := &up.Handler{Detail: true, Checks: []up.Check{
			{Name: "slow", Timeout: 30 * time.Millisecond, Run: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }},
			up.Func("fast", ok),
		}}
		start := time.Now()
		code, body, _ := get(t, h, http.MethodGet)
		assert.Less(t, time.Since(start), 300*time.Millisecond)
		assert.Equal(t, http.StatusServiceUnavailable, code)
		assert.Contains(t, []string{
			"unhealthy: slow\nslow: no answer within 30ms\n",
			"unhealthy: slow\nslow: context deadline exceeded\n",
		}, body)
	})

	t.Run("does not pile up a check that ignores its context", func(t *testing.T) {
		defer goleak.VerifyNone(t)
		var n atomic.Int32
		release := make(chan struct{})
		h := &up.Handler{Detail: true, CacheFor: -1, Checks: []up.Check{{
			Name: "stuck", Timeout: 20 * time.Millisecond,
			Run: func(context.Context) error { n.Add(1); <-release; return nil },
		}}}
		_, body, _ := get(t, h, http.MethodGet)
		assert.Equal(t, "unhealthy: stuck\nstuck: no answer within 20ms\n", body)
		_, body, _ = get(t, h, http.MethodGet)
		assert.Equal(t, "unhealthy: stuck\nstuck: still running from an earlier request\n", body)
		assert.EqualValues(t, 1, n.Load())

		close(release)
		require.Eventually(t, func() bool {
			code, _, _ := get(t, h, http.MethodGet)
			return code == http.StatusOK
		}, time.Second, 5*time.Millisecond)
	})

	t.Run("turns a panicking check into a failure", func(t *testing.T) {
		h := &up.Handler{Detail: true, Checks: []up.Check{up.Func("boom", func(context.Context) error { panic("nil map") })}}
		code, body, _ := get(t, h, http.MethodGet)
		assert.Equal(t, http.StatusServiceUnavailable, code)
		assert.Equal(t, "unhealthy: boom\nboom: panic: nil map\n", body)
	})

	t.Run("answers a client that gives up with 503", func(t *testing.T) {
		release := make(chan struct{})
		defer close(release)
		h := &up.Handler{CacheFor: -1, Checks: []up.Check{{Name: "slow", Timeout: time.Second, Run: func(ctx context.Context) error {
			select {
			case <-release:
			case <-ctx.Done():
			}
			return nil
		}}}}
		first := make(chan int)
		go func() { code, _, _ := get(t, h, http.MethodGet); first <- code }()
		time.Sleep(20 * time.Millisecond)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/up", nil).WithContext(ctx))
		assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
		release <- struct{}{}
		assert.Equal(t, http.StatusOK, <-first)
	})

	t.Run("serves a real server's GET and HEAD", func(t *testing.T) {
		defer goleak.VerifyNone(t)
		mux := http.NewServeMux()
		mux.Handle("GET /up", up.NewHandler(up.Func("db", ok)))
		srv := httptest.NewServer(mux)
		defer srv.Close()
		for _, m := range []string{http.MethodGet, http.MethodHead} {
			req, err := http.NewRequest(m, srv.URL+"/up", nil)
			require.NoError(t, err)
			resp, err := srv.Client().Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, http.StatusOK, resp.StatusCode, m)
		}
	})
}

// newDB creates a SQLite database file with one table and returns its path.
func newDB(t testing.TB, pragmas ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "app.db")
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	defer db.Close()
	for _, p := range pragmas {
		_, err := db.Exec(p)
		require.NoError(t, err)
	}
	_, err = db.Exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('hello')")
	require.NoError(t, err)
	return path
}

func TestSQLiteCheck(t *testing.T) {
	check := func(t *testing.T, c up.Check) error {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		return c.Run(ctx)
	}

	t.Run("passes on a database and keeps one connection", func(t *testing.T) {
		defer goleak.VerifyNone(t)
		c := up.SQLite(newDB(t))
		assert.Equal(t, "sqlite", c.Name)
		for range 3 {
			require.NoError(t, check(t, c))
		}
		require.NoError(t, c.Close())
		require.NoError(t, c.Close(), "closing twice is harmless")
	})

	t.Run("passes on a WAL database while the app writes to it", func(t *testing.T) {
		defer goleak.VerifyNone(t)
		path := newDB(t, "PRAGMA journal_mode=WAL")
		app, err := sql.Open("sqlite", path)
		require.NoError(t, err)
		defer app.Close()
		tx, err := app.Begin()
		require.NoError(t, err)
		_, err = tx.Exec("INSERT INTO notes (body) VALUES ('in flight')")
		require.NoError(t, err)

		c := up.SQLite(path)
		defer c.Close()
		require.NoError(t, check(t, c))
		require.NoError(t, tx.Commit())
		require.NoError(t, check(t, c))
	})

	t.Run("fails when the file is missing, and never creates it", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "missing.db")
		c := up.SQLite(path)
		defer c.Close()
		err := check(t, c)
		require.Error(t, err)
		assert.ErrorIs(t, err, os.ErrNotExist)
		assert.Contains(t, err.Error(), "database file: stat "+path)
		assert.NoFileExists(t, path)
	})

	t.Run("fails when the file is not a database", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "app.db")
		require.NoError(t, os.WriteFile(path, []byte("this is not a SQLite database, just some text that is long enough"), 0o600))
		c := up.SQLite(path)
		defer c.Close()
		err := check(t, c)
		require.Error(t, err)
		assert.Contains(t, err.Error(), path)
	})

	t.Run("fails on a directory", func(t *testing.T) {
		dir := t.TempDir()
		err := check(t, up.SQLite(dir))
		assert.EqualError(t, err, "database file "+dir+" is not a regular file")
	})

	t.Run("follows the file when a restore replaces it", func(t *testing.T) {
		defer goleak.VerifyNone(t)
		path := newDB(t)
		c := up.SQLite(path)
		defer c.Close()
		require.NoError(t, check(t, c))

		require.NoError(t, os.Rename(newDB(t), path))
		require.NoError(t, check(t, c))
		require.NoError(t, os.Remove(path))
		assert.Error(t, check(t, c))
		require.NoError(t, os.WriteFile(path, []byte("garbage garbage garbage garbage garbage garbage garbage garbage garbage"), 0o600))
		assert.Error(t, check(t, c))
	})

	t.Run("serves /up from a Handler", func(t *testing.T) {
		defer goleak.VerifyNone(t)
		path := newDB(t)
		h := up.NewHandler(up.SQLite(path), up.Writable(filepath.Dir(path)))
		code, body, _ := get(t, h, http.MethodGet)
		assert.Equal(t, http.StatusOK, code)
		assert.Equal(t, "ok\n", body)
		require.NoError(t, h.Close())
	})
}

func TestWritableCheck(t *testing.T) {
	t.Run("passes on a writable directory and leaves nothing behind", func(t *testing.T) {
		dir := t.TempDir()
		c := up.Writable(dir)
		assert.Equal(t, "writable", c.Name)
		require.NoError(t, c.Run(context.Background()))
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		assert.Empty(t, entries)
	})

	t.Run("fails on a missing directory", func(t *testing.T) {
		err := up.Writable(filepath.Join(t.TempDir(), "gone")).Run(context.Background())
		assert.ErrorIs(t, err, os.ErrNotExist)
	})

	t.Run("fails on a file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "f")
		require.NoError(t, os.WriteFile(path, nil, 0o600))
		assert.Error(t, up.Writable(path).Run(context.Background()))
	})
}

func TestHandlerCloseReportsEveryError(t *testing.T) {
	h := up.NewHandler(
		up.Check{Name: "a", Run: ok, Close: func() error { return errors.New("a stuck") }},
		up.Check{Name: "b", Run: ok},
		up.Check{Name: "c", Run: ok, Close: func() error { return errors.New("c stuck") }},
	)
	assert.EqualError(t, h.Close(), "close check a: a stuck\nclose check c: c stuck")
}
