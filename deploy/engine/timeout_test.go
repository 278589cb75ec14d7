package engine_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy/engine"
)

// These tests are about the transport alone (what the engine does when
// dockerd stops answering), so a fake engine on a unix socket stands in
// for dockerd: it answers pings until told to hang, and then answers
// nothing at all, as a SIGSTOPped dockerd does.

const (
	testCallTimeout = 150 * time.Millisecond
	testIdleTimeout = 100 * time.Millisecond
)

func TestEveryCallOfAHungEngineFailsNamingTheHostAndTheCall(t *testing.T) {
	fake := newFakeEngine(t)
	e := fake.engine(t)
	fake.hang()

	ctx := t.Context()
	calls := []struct {
		call string // how the error names it
		run  func() error
	}{
		{"docker engine on h1", func() error { return e.Ping(ctx) }},
		{"docker version on h1", func() error { _, err := e.Version(ctx); return err }},
		{"create container hello-web-v2 on h1", func() error {
			_, err := e.Create(ctx, engine.ContainerSpec{Name: "hello-web-v2", Image: "app:v2", Env: []string{"SECRET=hunter2"}})
			return err
		}},
		{"start container hello-web-v2 on h1", func() error { return e.Start(ctx, "hello-web-v2") }},
		{"stop container hello-web-v2 on h1", func() error { return e.Stop(ctx, "hello-web-v2", time.Second) }},
		{"stop container hello-web-v2 on h1", func() error { return e.Stop(ctx, "hello-web-v2", 0) }},
		{"stop container hello-web-v2 on h1", func() error { return e.Stop(ctx, "hello-web-v2", -1) }},
		{"remove container hello-web-v2 on h1", func() error { return e.Remove(ctx, "hello-web-v2", true) }},
		{"rename container hello-web-v2 to hello-web-v1 on h1", func() error { return e.Rename(ctx, "hello-web-v2", "hello-web-v1") }},
		{"inspect container hello-web-v2 on h1", func() error { _, err := e.Inspect(ctx, "hello-web-v2"); return err }},
		{"list containers on h1", func() error { _, err := e.List(ctx, engine.ListOptions{}); return err }},
		{"exec /app in container hello-web-v2 on h1", func() error {
			_, err := e.Exec(ctx, "hello-web-v2", []string{"/app", "migrate", "--password=hunter2"}, engine.ExecOptions{})
			return err
		}},
		{"logs of container hello-web-v2 on h1", func() error {
			return e.Logs(ctx, "hello-web-v2", engine.LogOptions{Follow: true}, io.Discard, io.Discard)
		}},
		{"logs of container hello-web-v2 on h1", func() error { _, err := e.Tail(ctx, "hello-web-v2", 20); return err }},
		{"copy 1 files into container hello-web-v2 on h1", func() error {
			return e.CopyTo(ctx, "hello-web-v2", []engine.File{{Path: "/etc/app.conf", Content: []byte("x")}})
		}},
		{"list images on h1", func() error { _, err := e.ImageList(ctx, nil); return err }},
		{"inspect image app:v2 on h1", func() error { _, err := e.ImageInspect(ctx, "app:v2"); return err }},
		{"inspect image app:v2 on h1", func() error { _, err := e.ImageLayers(ctx, "app:v2"); return err }},
		{"tag image app:v2 as app:latest on h1", func() error { return e.ImageTag(ctx, "app:v2", "app:latest") }},
		{"remove image app:v2 on h1", func() error { return e.ImageRemove(ctx, "app:v2", false) }},
		{"pull app:v2 on h1", func() error {
			return e.ImagePull(ctx, "app:v2", &engine.RegistryAuth{Server: "r", Username: "u", Password: "hunter2"}, nil)
		}},
		{"load images on h1", func() error { return e.ImageLoad(ctx, strings.NewReader("a tar")) }},
		{"save app:v2 on h1", func() error {
			rc, err := e.ImageSave(ctx, "app:v2")
			if err == nil {
				_, err = io.ReadAll(rc)
				rc.Close()
			}
			return err
		}},
		{"build on h1", func() error {
			_, err := e.ImageBuild(ctx, strings.NewReader("a tar"), engine.BuildOptions{Tags: []string{"app:v2"}}, nil)
			return err
		}},
		{"create network slipway on h1", func() error { return e.NetworkEnsure(ctx, "slipway", nil) }},
		{"create volume data on h1", func() error { return e.VolumeEnsure(ctx, "data", nil) }},
		{"inspect volume data on h1", func() error { _, err := e.VolumeMountpoint(ctx, "data"); return err }},
		{"remove volume data on h1", func() error { return e.VolumeRemove(ctx, "data", false) }},
	}
	for _, c := range calls {
		t.Run(c.call, func(t *testing.T) {
			err := ended(t, c.run)
			require.Error(t, err)
			t.Log(err)
			assert.ErrorIs(t, err, engine.ErrNoAnswer)
			assert.ErrorIs(t, err, context.DeadlineExceeded, "callers that test for a deadline still see one")
			assert.True(t, strings.HasPrefix(err.Error(), c.call+": "), "the error starts with the call and the host: %q", err)
			assert.Contains(t, err.Error(), "no answer")
			assert.NotContains(t, err.Error(), "hunter2")
		})
	}
}

func TestACallThatGetsNoAnswerSaysHowLongItWaited(t *testing.T) {
	fake := newFakeEngine(t)
	e := fake.engine(t)
	fake.hang()

	_, err := e.Inspect(t.Context(), "hello-web-v2")
	assert.EqualError(t, err, "inspect container hello-web-v2 on h1: no answer within 150ms: check that dockerd there runs and is not overloaded")

	err = e.Stop(t.Context(), "hello-web-v2", time.Second)
	assert.EqualError(t, err, "stop container hello-web-v2 on h1: no answer within 1.15s: check that dockerd there runs and is not overloaded",
		"a stop may take its own timeout before the engine answers")

	err = e.Logs(t.Context(), "hello-web-v2", engine.LogOptions{}, io.Discard, io.Discard)
	assert.EqualError(t, err, "logs of container hello-web-v2 on h1: no progress for 100ms, then no answer to a ping within 150ms: check that dockerd there runs and is not overloaded")
}

func TestTheCallersDeadlineStaysTheCallers(t *testing.T) {
	fake := newFakeEngine(t)
	e, err := engine.New(t.Context(), fake.dial, engine.Options{Host: "h1", CallTimeout: time.Hour, IdleTimeout: time.Hour})
	require.NoError(t, err)
	defer e.Close()
	fake.hang()

	for name, run := range map[string]func(ctx context.Context) error{
		"a call": func(ctx context.Context) error { _, err := e.Inspect(ctx, "web"); return err },
		"a stream": func(ctx context.Context) error {
			return e.Logs(ctx, "web", engine.LogOptions{}, io.Discard, io.Discard)
		},
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
			defer cancel()
			err := ended(t, func() error { return run(ctx) })
			require.ErrorIs(t, err, context.DeadlineExceeded)
			assert.NotErrorIs(t, err, engine.ErrNoAnswer, "the engine was not given its time")
		})
	}
}

func TestNewFailsOnAnEngineThatNeverAnswers(t *testing.T) {
	fake := newFakeEngine(t)
	fake.hang()

	_, err := endedWith(t, func() (*engine.Engine, error) {
		return engine.New(t.Context(), fake.dial, engine.Options{Host: "h1", Socket: "/run/docker.sock", CallTimeout: testCallTimeout})
	})
	require.ErrorIs(t, err, engine.ErrNoAnswer)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.EqualError(t, err, "docker engine on h1: socket /run/docker.sock: no answer within 150ms: check that dockerd there runs and is not overloaded")
}

func TestAQuietStreamLastsWhileTheEngineAnswers(t *testing.T) {
	fake := newFakeEngine(t)
	e := fake.engine(t)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- e.Logs(ctx, "quiet-app", engine.LogOptions{Follow: true}, io.Discard, io.Discard)
	}()

	// Each ping is asked after the stream was quiet for the idle timeout.
	pings := fake.pings.Load()
	require.Eventually(t, func() bool { return fake.pings.Load() >= pings+3 }, 10*time.Second, 10*time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("a quiet follow ended while the engine answered its pings: %v", err)
	default:
	}

	t.Run("and fails once the engine stops answering", func(t *testing.T) {
		fake.hang()
		select {
		case err := <-done:
			require.ErrorIs(t, err, engine.ErrNoAnswer)
			assert.ErrorIs(t, err, context.DeadlineExceeded)
			assert.Contains(t, err.Error(), "logs of container quiet-app on h1: no progress for 100ms, then no answer to a ping within 150ms")
		case <-time.After(10 * time.Second):
			t.Fatal("the follow went on after the engine stopped answering")
		}
	})
	cancel()
}

func TestAQuietExecFailsOnceTheEngineStopsAnswering(t *testing.T) {
	fake := newFakeEngine(t)
	e := fake.engine(t)
	done := make(chan error, 1)
	go func() {
		_, err := e.Exec(t.Context(), "hello-web-v2", []string{"/app", "migrate"}, engine.ExecOptions{})
		done <- err
	}()
	pings := fake.pings.Load()
	require.Eventually(t, func() bool { return fake.pings.Load() >= pings+2 }, 10*time.Second, 10*time.Millisecond,
		"a quiet command is watched with pings")
	select {
	case err := <-done:
		t.Fatalf("a quiet exec ended while the engine answered its pings: %v", err)
	default:
	}

	fake.hang()
	select {
	case err := <-done:
		require.ErrorIs(t, err, engine.ErrNoAnswer)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Contains(t, err.Error(), "exec /app in container hello-web-v2 on h1: no progress for 100ms, then no answer to a ping within 150ms")
	case <-time.After(10 * time.Second):
		t.Fatal("the exec went on after the engine stopped answering")
	}
}

func TestAStreamThatMovesNeedsNoPing(t *testing.T) {
	fake := newFakeEngine(t)
	e := fake.engine(t)
	fake.hangPings() // only the stream answers: it must never be asked to prove itself
	const lines = 30 // written one every 20ms: the stream lasts several idle timeouts

	var out strings.Builder
	err := ended(t, func() error {
		return e.Logs(t.Context(), fmt.Sprintf("chatty-%d", lines), engine.LogOptions{}, &out, io.Discard)
	})
	require.NoError(t, err)
	assert.Equal(t, lines, strings.Count(out.String(), "\n"))
}

// fakeEngine is a Docker engine's HTTP API that answers pings, logs and a quiet exec,
// and can be told to hang: to answer nothing more, as a stopped dockerd.
type fakeEngine struct {
	socket string
	pings  atomic.Int64

	mu        sync.Mutex
	hung      chan struct{} // closed: every request hangs
	pingsHung bool
}

func newFakeEngine(t *testing.T) *fakeEngine {
	t.Helper()
	f := &fakeEngine{socket: filepath.Join(t.TempDir(), "docker.sock"), hung: make(chan struct{})}
	ln, err := net.Listen("unix", f.socket)
	require.NoError(t, err)
	srv := &http.Server{Handler: http.HandlerFunc(f.serve)}
	go srv.Serve(ln)
	t.Cleanup(func() { _ = srv.Close() }) // ends the hung requests too
	return f
}

func (f *fakeEngine) dial(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "unix", f.socket)
}

// engine connects to the fake with the tests' short timeouts.
func (f *fakeEngine) engine(t *testing.T) *engine.Engine {
	t.Helper()
	e, err := engine.New(t.Context(), f.dial, engine.Options{Host: "h1", CallTimeout: testCallTimeout, IdleTimeout: testIdleTimeout})
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close() })
	return e
}

func (f *fakeEngine) hang() {
	f.mu.Lock()
	defer f.mu.Unlock()
	select {
	case <-f.hung:
	default:
		close(f.hung)
	}
}

func (f *fakeEngine) hangPings() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pingsHung = true
}

func (f *fakeEngine) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	hung, pingsHung := f.hung, f.pingsHung
	f.mu.Unlock()
	isPing := strings.HasSuffix(r.URL.Path, "/_ping")
	select {
	case <-hung:
		<-r.Context().Done()
		return
	default:
	}
	if isPing {
		if pingsHung {
			<-r.Context().Done()
			return
		}
		f.pings.Add(1)
		w.Header().Set("Api-Version", "1.41")
		w.Header().Set("Ostype", "linux")
		return
	}
	if strings.HasSuffix(r.URL.Path, "/exec") {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"Id":"quiet-exec"}`)
		return
	}
	if strings.HasSuffix(r.URL.Path, "/exec/quiet-exec/start") {
		// Attach, then say nothing: a command that runs quietly.
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		fmt.Fprint(buf, "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
		buf.Flush()
		_, _ = io.Copy(io.Discard, conn) // until the client closes it
		return
	}
	name, isLogs := strings.CutSuffix(r.URL.Path, "/logs")
	if !isLogs {
		http.Error(w, `{"message":"the fake engine only serves pings, logs and exec"}`, http.StatusNotImplemented)
		return
	}
	w.Header().Set("Content-Type", "application/vnd.docker.multiplexed-stream")
	w.WriteHeader(http.StatusOK)
	w.(http.Flusher).Flush()
	var lines int
	if _, err := fmt.Sscanf(name[strings.LastIndex(name, "/")+1:], "chatty-%d", &lines); err != nil {
		// A quiet app: nothing to say until the client or a hang ends the stream.
		select {
		case <-r.Context().Done():
		case <-hung:
			<-r.Context().Done()
		}
		return
	}
	for i := range lines {
		line := fmt.Sprintf("line %d\n", i)
		frame := make([]byte, 8, 8+len(line))
		frame[0] = 1 // stdout
		binary.BigEndian.PutUint32(frame[4:], uint32(len(line)))
		if _, err := w.Write(append(frame, line...)); err != nil {
			return
		}
		w.(http.Flusher).Flush()
		time.Sleep(20 * time.Millisecond)
	}
}

// ended runs call and returns its error, failing the test if it never
// returns: a call without a bound would hang the suite instead.
func ended(t *testing.T, call func() error) error {
	t.Helper()
	_, err := endedWith(t, func() (struct{}, error) { return struct{}{}, call() })
	return err
}

// endedWith is ended for a call that also returns a value.
func endedWith[T any](t *testing.T, call func() (T, error)) (T, error) {
	t.Helper()
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := call()
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-time.After(20 * time.Second):
		t.Fatal("the call never returned: it has no bound")
		panic("unreachable")
	}
}
