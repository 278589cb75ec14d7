package deploy_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/magefile/mage/mg"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/term"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/internal/lab"
	"github.com/slipwayhq/slipway/secret"
	"github.com/slipwayhq/slipway/targets"
)

// screen is the test's end of a pseudo-terminal: it types on the master
// and reads what the terminal shows.
type screen struct {
	t    *testing.T
	ptmx *os.File
	tty  *os.File // the session's end: its stdin and stdout
	out  syncBuffer
	seen int // how much of out the last expect consumed
}

func newScreen(t *testing.T, rows, cols uint16) *screen {
	ptmx, tty, err := pty.Open()
	require.NoError(t, err)
	require.NoError(t, pty.Setsize(ptmx, &pty.Winsize{Rows: rows, Cols: cols}))
	s := &screen{t: t, ptmx: ptmx, tty: tty}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			s.out.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		tty.Close()
		ptmx.Close()
		<-done
	})
	return s
}

// state is the terminal settings of the session's end, read without
// making it blocking (as Fd would).
func (s *screen) state() *term.State {
	s.t.Helper()
	raw, err := s.tty.SyscallConn()
	require.NoError(s.t, err)
	var st *term.State
	require.NoError(s.t, raw.Control(func(fd uintptr) { st, err = term.GetState(int(fd)) }))
	require.NoError(s.t, err)
	return st
}

func (s *screen) typeLine(line string) {
	s.t.Helper()
	_, err := s.ptmx.Write([]byte(line + "\r"))
	require.NoError(s.t, err)
}

// expect waits until the terminal shows want after what was already consumed.
func (s *screen) expect(want string) {
	s.t.Helper()
	require.Eventually(s.t, func() bool {
		i := strings.Index(s.out.String()[s.seen:], want)
		if i < 0 {
			return false
		}
		s.seen += i + len(want)
		return true
	}, 20*time.Second, 10*time.Millisecond, "the terminal never showed %q; it shows:\n%q", want, &s.out)
}

func (s *screen) resize(rows, cols uint16) {
	s.t.Helper()
	require.NoError(s.t, pty.Setsize(s.ptmx, &pty.Winsize{Rows: rows, Cols: cols}))
	// The kernel signals a terminal's foreground process group; the test is
	// not in this one's, so it signals itself as a shell's terminal would.
	require.NoError(s.t, syscall.Kill(os.Getpid(), syscall.SIGWINCH))
}

// TestExecInteractive opens the test app's line shell ("testapp sh")
// through a real pseudo-terminal, in a one-off container and in the
// running one: the prompt, an echo, the terminal's size at start and
// after a resize, Ctrl-C delivered to the remote process, a secret
// redacted, and the shell's exit code returned.
func TestExecInteractive(t *testing.T) {
	l := lab.Require(t, 5)
	hosts := l.Hosts[4:5]
	image := lab.RequireTestAppSource(t, hosts)
	version := strings.TrimPrefix(image, lab.TestAppImage+":")
	service := fmt.Sprintf("console-%d", rand.Uint32()%1_000_000)
	a := testApp(service, hosts)
	lab.CleanupService(t, hosts, service)
	value := fmt.Sprintf("m%x-console-secret", rand.Uint64())
	a.Env = deploy.Env{Secret: []string{"CONSOLE_SECRET"}}
	t.Setenv("CONSOLE_SECRET", value)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var deployOut syncBuffer
	_, err := connect(t, a, &deployOut).Deploy(ctx, deploy.Release{Version: version})
	require.NoError(t, err, deployOut.String())
	e := hosts[0].Engine(t)
	// A test that fails mid-session leaves its one-off container running:
	// they carry LabelExec, not the service label CleanupService looks for.
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cs, _ := e.List(cctx, engine.ListOptions{All: true, Labels: map[string]string{deploy.LabelExec: service}})
		for _, c := range cs {
			e.Remove(cctx, c.ID, true)
		}
	})
	oneOffs := func() []engine.Container {
		cs, err := e.List(ctx, engine.ListOptions{All: true, Labels: map[string]string{deploy.LabelExec: service}})
		require.NoError(t, err)
		return cs
	}

	for _, reuse := range []bool{false, true} {
		name := "a one-off container's shell"
		if reuse {
			name = "the running container's shell (reuse)"
		}
		t.Run(name+" answers through a terminal and returns its exit code", func(t *testing.T) {
			var lines syncBuffer
			s := connect(t, a, &lines)
			sc := newScreen(t, 30, 100)
			before := sc.state()
			cmd := []string{"sh"} // the image's entrypoint is /testapp
			if reuse {
				cmd = []string{"/testapp", "sh"}
			}
			type outcome struct {
				res deploy.ExecResult
				err error
			}
			done := make(chan outcome, 1)
			go func() {
				res, err := s.ExecInteractive(ctx, deploy.ExecOptions{Cmd: cmd, Reuse: reuse}, sc.tty, sc.tty)
				done <- outcome{res, err}
			}()

			sc.expect("testapp$ ")
			during := sc.state()
			assert.NotEqual(t, before, during, "the local terminal is in raw mode during the session")

			sc.typeLine("echo hello console")
			sc.expect("hello console\r\n")
			sc.expect("testapp$ ")
			sc.typeLine("size")
			sc.expect("rows=30 cols=100")
			sc.expect("testapp$ ")

			sc.resize(40, 120)
			// The resize travels beside the input: ask until the answer changes.
			for deadline := time.Now().Add(10 * time.Second); !strings.Contains(sc.out.String(), "rows=40 cols=120"); {
				require.True(t, time.Now().Before(deadline), "the remote terminal never followed the resize:\n%q", &sc.out)
				sc.typeLine("size")
				sc.expect("testapp$ ")
			}

			_, err := sc.ptmx.Write([]byte("echo never ran\x03"))
			require.NoError(t, err)
			sc.expect("interrupted")
			sc.expect("testapp$ ")

			sc.typeLine("env CONSOLE_SECRET")
			sc.expect(secret.Redacted)
			sc.expect("testapp$ ")

			sc.typeLine("exit 3")
			var got outcome
			select {
			case got = <-done:
			case <-time.After(30 * time.Second):
				t.Fatalf("the session did not end after exit 3; the terminal shows:\n%q", &sc.out)
			}
			var exit *deploy.ExitError
			require.True(t, errors.As(got.err, &exit), "an *ExitError, got %v", got.err)
			assert.Equal(t, 3, exit.Code)
			assert.Equal(t, 3, got.res.ExitCode)
			assert.Equal(t, hosts[0].Addr, got.res.Host)
			if reuse {
				assert.Equal(t, service+"-web-"+version, got.res.Container)
			} else {
				assert.Contains(t, got.res.Container, service+"-web-"+version+"-exec-")
			}

			after := sc.state()
			assert.Equal(t, before, after, "the local terminal is restored")
			assert.NotContains(t, sc.out.String(), "\nnever ran", "Ctrl-C dropped the unfinished line")
			assert.NotContains(t, sc.out.String(), value)
			assert.NotContains(t, lines.String(), value)
			assert.Regexp(t, `exec .*FAILED`, lines.String(), "the session's own line reports the exit")
			assert.Empty(t, oneOffs(), "no one-off container is left")
		})
	}

	t.Run("a cancelled session removes its one-off container", func(t *testing.T) {
		s := connect(t, a, &syncBuffer{})
		sc := newScreen(t, 24, 80)
		cctx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() {
			_, err := s.ExecInteractive(cctx, deploy.ExecOptions{Cmd: []string{"sh"}}, sc.tty, sc.tty)
			done <- err
		}()
		sc.expect("testapp$ ")
		require.Len(t, oneOffs(), 1, "the one-off container runs")
		stop()
		select {
		case err := <-done:
			require.ErrorIs(t, err, context.Canceled)
		case <-time.After(15 * time.Second):
			t.Fatal("the session went on after its context ended")
		}
		assert.Empty(t, oneOffs(), "the one-off container was removed")
	})

	t.Run("the exec target with -i exits with the shell's exit code", func(t *testing.T) {
		sc := newScreen(t, 24, 80)
		var lines syncBuffer
		targets.Use(targets.Config{App: a, Options: deploy.Options{Output: &lines, Performer: "tester"}})
		t.Cleanup(func() { targets.Use(targets.Config{}) })
		stdin, stdout := os.Stdin, os.Stdout
		os.Stdin, os.Stdout = sc.tty, sc.tty
		t.Cleanup(func() { os.Stdin, os.Stdout = stdin, stdout })
		interactive := true
		done := make(chan error, 1)
		go func() { done <- targets.Exec(ctx, "sh", &interactive, nil, nil, nil, nil) }()
		sc.expect("testapp$ ")
		sc.typeLine("exit 7")
		select {
		case err := <-done:
			assert.Equal(t, 7, mg.ExitStatus(err), "%v", err)
		case <-time.After(30 * time.Second):
			t.Fatalf("the target did not end; the terminal shows:\n%q", &sc.out)
		}
		assert.Empty(t, oneOffs())
	})
}
