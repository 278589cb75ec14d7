package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/slipwayhq/slipway/deploy/engine"
)

// ttyFlushDelay is how long the redaction of a terminal's output holds
// back a line that has not ended (a prompt, a key's echo) before it
// passes it on: long enough to catch a secret value the command writes
// in pieces at once, short enough that typing feels immediate.
const ttyFlushDelay = 20 * time.Millisecond

// ExecInteractive runs a command with a terminal on one host of a role,
// as `docker exec -it` (with Reuse, in the role's running container) or
// `docker run -it --rm` (otherwise, in a one-off container of its image,
// with the role's env and the app's network and volumes) would: opts.Host,
// or the role's first host. in is the command's input and out receives
// what its terminal shows, secret values redacted (nil means os.Stdin and
// os.Stdout); the result holds no output.
//
// When in is a terminal (an *os.File such as os.Stdin), it is put in raw
// mode for the session and restored after, so that every key reaches the
// command: Ctrl-C goes through the command's terminal, which turns it
// into SIGINT there, rather than ending this program. The command's
// terminal starts at in's size and follows it on each SIGWINCH.
//
// The result's ExitCode is the command's; a non-zero one is also returned
// as an *ExitError. A one-off container is removed when the command ends,
// and when ctx ends first (the command is killed). With Reuse, an ended
// ctx closes the stream, and the command sees its input end.
//
// Reading in cannot be interrupted unless it has a read deadline (a
// pollable *os.File, such as a pseudo-terminal): otherwise the goroutine
// that reads it waits for one more key after the command ends, and drops
// it. A program that exits after the session, as a Mage target does, is
// not concerned.
func (s *Session) ExecInteractive(ctx context.Context, opts ExecOptions, in io.Reader, out io.Writer) (_ ExecResult, err error) {
	defer s.redactErr(&err)
	if len(opts.Cmd) == 0 {
		return ExecResult{}, errors.New("exec: no command given")
	}
	role := orDefault(opts.Role, s.app.primaryRole())
	r, ok := s.app.Roles[role]
	if !ok {
		return ExecResult{}, fmt.Errorf("exec: unknown role %q; the app's roles: %s", role, strings.Join(s.app.roleNames(), ", "))
	}
	var hosts []string
	for _, srv := range r.Servers {
		hosts = append(hosts, srv.Host)
	}
	host := orDefault(opts.Host, hosts[0])
	if !slices.Contains(hosts, host) {
		return ExecResult{}, fmt.Errorf("exec: role %s does not run on %s; its hosts: %s", role, host, strings.Join(hosts, ", "))
	}
	if _, err := s.resolveSecrets(ctx); err != nil {
		return ExecResult{}, err
	}
	if in == nil {
		in = os.Stdin
	}
	if out == nil {
		out = os.Stdout
	}
	h := s.hosts[host]
	start := time.Now()
	res := ExecResult{Host: host, Role: role}
	// The line goes out once the terminal is restored (defers run last first).
	defer func() {
		res.Duration, res.Err = time.Since(start), err
		s.record(nil, stepLine{host: host, role: role, step: "exec", detail: res.Container, start: start, err: err})
	}()

	cur, err := s.running(ctx, h, role)
	if err != nil {
		return res, err
	}
	res.Container, res.Version = cur.Name, cur.Labels[LabelVersion]
	local := newLocalTerminal(in, out)

	var tty *engine.TTY
	if opts.Reuse {
		tty, err = h.engine.ExecTTY(ctx, cur.Name, opts.Cmd, engine.ExecOptions{}, local.size())
		if err != nil {
			return res, err
		}
		defer tty.Close()
	} else {
		spec := s.oneOffSpec(cur, role, opts.Cmd)
		res.Container = spec.Name
		if _, err := h.engine.CreateTTY(ctx, spec, local.size()); err != nil {
			return res, err
		}
		defer func() {
			// Even when ctx has ended: a one-off container never outlives its session.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.cleanupTimeout())
			defer cancel()
			if rerr := h.engine.Remove(rctx, spec.Name, true); rerr != nil && !errors.Is(rerr, engine.ErrNotFound) {
				err = errors.Join(err, rerr)
			}
		}()
		if tty, err = h.engine.AttachTTY(ctx, spec.Name); err != nil {
			return res, err
		}
		defer tty.Close()
		if err := h.engine.Start(ctx, spec.Name); err != nil {
			return res, err
		}
	}
	// Engines before API 1.42 ignore the size given at creation, and
	// newer ones apply a container's only once it runs: set it again
	// before the first output is shown, so the command's first answer
	// already sees it.
	sizeAtStart(ctx, tty, local.size())

	restore, err := local.makeRaw()
	if err != nil {
		return res, err
	}
	defer restore()
	stopResize := local.onResize(func(sz engine.Size) { _ = tty.Resize(ctx, sz) })
	defer stopResize()

	stopInput := local.feed(tty)
	defer stopInput()

	w := io.Writer(out)
	if sec := s.out.secrets(); len(sec) > 0 {
		rw := newFlushingWriter(sec.Writer(out), ttyFlushDelay)
		defer rw.Close()
		w = rw
	}
	if _, err := io.Copy(w, tty); err != nil && !errors.Is(err, io.EOF) {
		if ctx.Err() != nil {
			return res, fmt.Errorf("exec %s on %s: %w", opts.Cmd[0], host, ctx.Err())
		}
		return res, err
	}
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("exec %s on %s: %w", opts.Cmd[0], host, err)
	}
	code, err := tty.Wait(ctx)
	if err != nil {
		return res, err
	}
	res.ExitCode = code
	if code != 0 {
		return res, &ExitError{Host: host, Program: opts.Cmd[0], Code: code}
	}
	return res, nil
}

// sizeAtStart sets the terminal's size of a command that has just
// started, trying again for a moment while the engine reports the
// process as not yet running, as the docker CLI does.
func sizeAtStart(ctx context.Context, tty *engine.TTY, size engine.Size) {
	for try := 1; try <= 10; try++ {
		if tty.Resize(ctx, size) == nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Duration(try) * 10 * time.Millisecond):
		}
	}
}

// localTerminal is this side of an interactive exec: its input, and the
// terminal behind it, if any.
type localTerminal struct {
	in   io.Reader
	fd   int  // the terminal whose size the command's follows
	isTT bool // in is a terminal, to put in raw mode
	has  bool // fd is a terminal (in's, or else out's)
}

func newLocalTerminal(in io.Reader, out io.Writer) *localTerminal {
	l := &localTerminal{in: in}
	if fd, ok := terminalFD(in); ok {
		l.fd, l.isTT, l.has = fd, true, true
	} else if fd, ok := terminalFD(out); ok {
		l.fd, l.has = fd, true
	}
	return l
}

// terminalFD returns the descriptor of v when it is a terminal. It reads
// it through SyscallConn rather than Fd, which would make the file
// blocking and so its reads impossible to interrupt.
func terminalFD(v any) (int, bool) {
	f, ok := v.(*os.File)
	if !ok {
		return 0, false
	}
	raw, err := f.SyscallConn()
	if err != nil {
		return 0, false
	}
	fd := -1
	if raw.Control(func(d uintptr) { fd = int(d) }) != nil || fd < 0 {
		return 0, false
	}
	return fd, term.IsTerminal(fd)
}

// size is the local terminal's size; zero when there is none.
func (l *localTerminal) size() engine.Size {
	if !l.has {
		return engine.Size{}
	}
	cols, rows, err := term.GetSize(l.fd)
	if err != nil || rows <= 0 || cols <= 0 {
		return engine.Size{}
	}
	return engine.Size{Rows: uint(rows), Cols: uint(cols)}
}

// makeRaw puts the input terminal in raw mode and returns what restores it.
func (l *localTerminal) makeRaw() (restore func(), err error) {
	if !l.isTT {
		return func() {}, nil
	}
	state, err := term.MakeRaw(l.fd)
	if err != nil {
		return nil, fmt.Errorf("exec: put the terminal in raw mode: %w", err)
	}
	var once sync.Once
	return func() { once.Do(func() { _ = term.Restore(l.fd, state) }) }, nil
}

// onResize calls fn with the terminal's new size on each SIGWINCH, until stopped.
func (l *localTerminal) onResize(fn func(engine.Size)) (stop func()) {
	if !l.has {
		return func() {}
	}
	winch, stopSignal := notifyResize()
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for {
			select {
			case <-done:
				return
			case <-winch:
				fn(l.size())
			}
		}
	}()
	return func() {
		stopSignal()
		close(done)
		<-finished
	}
}

// deadliner is an input whose reads can be interrupted, such as a pollable *os.File.
type deadliner interface {
	SetReadDeadline(time.Time) error
}

// feed copies the input to the command, and ends the command's input at
// end of file. stop interrupts a read in progress where the input allows
// it and waits for the copy to end; otherwise it leaves the copy to end
// with the next read.
func (l *localTerminal) feed(tty *engine.TTY) (stop func()) {
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		if _, err := io.Copy(tty, l.in); err == nil {
			_ = tty.CloseWrite()
		}
	}()
	return func() {
		d, ok := l.in.(deadliner)
		if !ok || d.SetReadDeadline(time.Now()) != nil {
			return
		}
		<-finished
		_ = d.SetReadDeadline(time.Time{})
	}
}

// flushingWriter passes what w holds back on after a quiet delay: the
// redaction holds an unfinished line, which on a terminal is a prompt
// waiting for its answer.
type flushingWriter struct {
	w     io.WriteCloser
	delay time.Duration

	mu     sync.Mutex
	timer  *time.Timer
	closed bool
}

func newFlushingWriter(w io.WriteCloser, delay time.Duration) *flushingWriter {
	return &flushingWriter{w: w, delay: delay}
}

func (f *flushingWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.timer == nil {
		f.timer = time.AfterFunc(f.delay, f.flush)
	} else {
		f.timer.Reset(f.delay)
	}
	return n, err
}

func (f *flushingWriter) flush() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.closed {
		_ = f.w.Close()
	}
}

// Close passes on what is held back; it does not close the writer below.
// Nothing is written after it returns.
func (f *flushingWriter) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	if f.timer != nil {
		f.timer.Stop()
	}
	return f.w.Close()
}
