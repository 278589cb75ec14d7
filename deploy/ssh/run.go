package ssh

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"sync/atomic"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// Result is what a command printed and how it exited.
type Result struct {
	Stdout   []byte
	Stderr   []byte
	ExitCode int
}

// ExitError is returned by Run when the command ran but exited non-zero.
type ExitError struct {
	Host     string
	Command  string
	ExitCode int
	Stderr   string // the last lines of stderr, trimmed
}

// Error names the command, the host, the exit status and the end of stderr.
func (e *ExitError) Error() string {
	msg := fmt.Sprintf("run %q on %s: exit status %d", e.Command, e.Host, e.ExitCode)
	if e.Stderr != "" {
		msg += ": " + e.Stderr
	}
	return msg
}

// Run runs a shell command on the host and waits for it. stdin may be nil.
// A command that exits non-zero returns its Result and an *ExitError.
// Commands appear in errors, so never put a secret in one: pass it on
// stdin or through the engine API instead.
func (c *Client) Run(ctx context.Context, cmd string, stdin io.Reader) (Result, error) {
	var stdout, stderr bytes.Buffer
	code, err := c.Stream(ctx, cmd, stdin, &stdout, &stderr)
	res := Result{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), ExitCode: code}
	if err != nil {
		return res, err
	}
	if code != 0 {
		return res, &ExitError{Host: c.Host(), Command: cmd, ExitCode: code, Stderr: lastLines(stderr.String(), 5)}
	}
	return res, nil
}

// ErrCommandTimeout means a command went Config.CommandTimeout without
// reading input or writing output, and was ended.
var ErrCommandTimeout = errors.New("command went silent")

// Stream runs a shell command with its output going to stdout and stderr
// as it is produced, and returns its exit code. When ctx ends, or the
// command stays silent for Config.CommandTimeout (see ErrCommandTimeout),
// Stream sends the command SIGKILL, closes the session and returns at
// once. OpenSSH ignores signals in root sessions, so there a command that
// reads no input and writes no output may run on until it ends by itself.
func (c *Client) Stream(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	idle := newIdleWatch(c.cfg.commandTimeout())
	defer idle.stop()
	sess, err := c.openSession(ctx, idle)
	if err != nil {
		return -1, fmt.Errorf("run %q on %s: open session: %w", cmd, c.Host(), err)
	}
	defer sess.Close()
	if stdin != nil {
		stdin = idle.reader(stdin)
	}
	sess.Stdin, sess.Stdout, sess.Stderr = stdin, idle.writer(stdout), idle.writer(stderr)

	if err := sess.Start(cmd); err != nil {
		return -1, fmt.Errorf("run %q on %s: %w", cmd, c.Host(), err)
	}
	done := make(chan error, 1)
	go func() { done <- sess.Wait() }()

	select {
	case err = <-done:
	case <-ctx.Done():
		sess.Signal(gossh.SIGKILL)
		sess.Close()
		return -1, fmt.Errorf("run %q on %s: %w", cmd, c.Host(), ctx.Err())
	case <-idle.expired:
		sess.Signal(gossh.SIGKILL)
		sess.Close()
		return -1, fmt.Errorf("run %q on %s: %w: no input or output for %s, so it was ended: the host or the command hung",
			cmd, c.Host(), ErrCommandTimeout, idle.limit)
	}
	var exit *gossh.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exit):
		return exit.ExitStatus(), nil
	default:
		return -1, fmt.Errorf("run %q on %s: %w", cmd, c.Host(), err)
	}
}

// openSession opens a session, giving up when ctx ends or the idle limit
// passes: on a connection whose peer stopped answering, opening a channel
// waits for a reply until the keepalive closes the connection.
func (c *Client) openSession(ctx context.Context, idle *idleWatch) (*gossh.Session, error) {
	type opened struct {
		s   *gossh.Session
		err error
	}
	ch := make(chan opened, 1)
	go func() {
		s, err := c.conn.NewSession()
		ch <- opened{s, err}
	}()
	abandon := func() {
		go func() {
			if o := <-ch; o.s != nil {
				o.s.Close()
			}
		}()
	}
	select {
	case o := <-ch:
		return o.s, o.err
	case <-ctx.Done():
		abandon()
		return nil, ctx.Err()
	case <-idle.expired:
		abandon()
		return nil, fmt.Errorf("%w: no answer within %s", ErrCommandTimeout, idle.limit)
	}
}

// idleWatch closes expired once no byte has moved in or out for limit.
type idleWatch struct {
	limit   time.Duration
	last    atomic.Int64 // unix nanoseconds of the last byte moved
	expired chan struct{}
	done    chan struct{}
}

func newIdleWatch(limit time.Duration) *idleWatch {
	w := &idleWatch{limit: limit, expired: make(chan struct{}), done: make(chan struct{})}
	if limit <= 0 {
		w.expired = nil // never fires
		return w
	}
	w.touch()
	go func() {
		t := time.NewTimer(limit)
		defer t.Stop()
		for {
			select {
			case <-w.done:
				return
			case <-t.C:
			}
			quiet := time.Since(time.Unix(0, w.last.Load()))
			if quiet >= limit {
				close(w.expired)
				return
			}
			t.Reset(limit - quiet)
		}
	}()
	return w
}

func (w *idleWatch) stop() { close(w.done) }

func (w *idleWatch) touch() { w.last.Store(time.Now().UnixNano()) }

func (w *idleWatch) reader(r io.Reader) io.Reader { return idleReader{r, w} }

func (w *idleWatch) writer(out io.Writer) io.Writer {
	if out == nil {
		out = io.Discard
	}
	return idleWriter{out, w}
}

type idleReader struct {
	r io.Reader
	w *idleWatch
}

func (r idleReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		r.w.touch()
	}
	return n, err
}

type idleWriter struct {
	out io.Writer
	w   *idleWatch
}

func (w idleWriter) Write(p []byte) (int, error) {
	w.w.touch()
	return w.out.Write(p)
}

// Upload writes r to a file on the host with the given mode, creating its
// directory. The file is written beside its destination and renamed into
// place, so a failed upload never leaves a half-written file there.
func (c *Client) Upload(ctx context.Context, dest string, mode fs.FileMode, r io.Reader) error {
	if !path.IsAbs(dest) {
		return fmt.Errorf("upload to %s on %s: the path must be absolute", dest, c.Host())
	}
	tmp := dest + ".slipway-upload"
	script := fmt.Sprintf("set -e; mkdir -p %s; umask 077; cat > %s; chmod %04o %s; mv -f %s %s",
		Quote(path.Dir(dest)), Quote(tmp), mode.Perm(), Quote(tmp), Quote(tmp), Quote(dest))
	if _, err := c.Run(ctx, script, r); err != nil {
		c.Run(context.WithoutCancel(ctx), "rm -f "+Quote(tmp), nil)
		return fmt.Errorf("upload %s to %s: %w", dest, c.Host(), err)
	}
	return nil
}

// Quote returns s quoted for a POSIX shell.
func Quote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:@,+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}
