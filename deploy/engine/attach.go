package engine

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/moby/moby/client"
)

// Size is a terminal's size in character cells.
type Size struct {
	Rows, Cols uint
}

// TTY is the local end of a process that runs with a pseudo-terminal in a
// container: what is written to it is the process's input (a Ctrl-C byte
// included, which the terminal turns into SIGINT there), and what is read
// from it is the terminal's output, stdout and stderr mixed as a terminal
// shows them. It is a stream hijacked from the engine's API connection,
// so it rides the same SSH connection as every other call. Close it when
// done; Wait returns the process's exit code.
type TTY struct {
	stream client.HijackedResponse
	w      *watch
	host   string
	what   string // "exec sh in container web" or "container web-exec-1"

	resize func(ctx context.Context, s Size) error
	exit   func(ctx context.Context) (running bool, code int, err error)

	closeOnce sync.Once
	stopWatch func() bool
}

// ExecTTY starts cmd inside a running container with a pseudo-terminal of
// size (zero means the engine's default) and its input attached, as
// `docker exec -it` does. Errors name the program, cmd[0], and not its
// arguments, which may hold secrets.
func (e *Engine) ExecTTY(ctx context.Context, name string, cmd []string, opts ExecOptions, size Size) (*TTY, error) {
	if len(cmd) == 0 {
		return nil, fmt.Errorf("exec in container %s on %s: no command given", name, e.host)
	}
	what := fmt.Sprintf("exec %s in container %s", cmd[0], name)
	fail := func(err error) (*TTY, error) { return nil, fmt.Errorf("%s on %s: %w", what, e.host, err) }
	console := client.ConsoleSize{Height: size.Rows, Width: size.Cols}
	created, err := call(ctx, e, e.callTimeout, func(ctx context.Context) (client.ExecCreateResult, error) {
		return e.api.ExecCreate(ctx, name, client.ExecCreateOptions{
			Cmd:          cmd,
			Env:          opts.Env,
			User:         opts.User,
			WorkingDir:   opts.WorkingDir,
			TTY:          true,
			ConsoleSize:  console,
			AttachStdin:  true,
			AttachStdout: true,
			AttachStderr: true,
		})
	})
	if err != nil {
		return fail(err)
	}
	stream, err := call(ctx, e, e.callTimeout, func(ctx context.Context) (client.ExecAttachResult, error) {
		return e.api.ExecAttach(ctx, created.ID, client.ExecAttachOptions{TTY: true, ConsoleSize: console})
	})
	if err != nil {
		return fail(err)
	}
	t := e.newTTY(ctx, stream.HijackedResponse, what)
	t.resize = func(ctx context.Context, s Size) error {
		_, err := call(ctx, e, e.callTimeout, func(ctx context.Context) (client.ExecResizeResult, error) {
			return e.api.ExecResize(ctx, created.ID, client.ExecResizeOptions{Height: s.Rows, Width: s.Cols})
		})
		return err
	}
	t.exit = func(ctx context.Context) (bool, int, error) {
		st, err := call(ctx, e, e.callTimeout, func(ctx context.Context) (client.ExecInspectResult, error) {
			return e.api.ExecInspect(ctx, created.ID, client.ExecInspectOptions{})
		})
		return st.Running, st.ExitCode, err
	}
	return t, nil
}

// CreateTTY creates a container from spec, as Create does, whose main
// process gets a pseudo-terminal of size and an input that stays open
// until the one attached client closes it (docker run -it). Attach to it
// with AttachTTY before starting it, so that no output is lost.
func (e *Engine) CreateTTY(ctx context.Context, spec ContainerSpec, size Size) (string, error) {
	cfg, host, netCfg, err := spec.config()
	if err != nil {
		return "", fmt.Errorf("create container %s on %s: %w", spec.Name, e.host, err)
	}
	cfg.Tty, cfg.OpenStdin, cfg.StdinOnce = true, true, true
	cfg.AttachStdin, cfg.AttachStdout, cfg.AttachStderr = true, true, true
	if size.Rows > 0 && size.Cols > 0 {
		host.ConsoleSize = [2]uint{size.Rows, size.Cols}
	}
	resp, err := call(ctx, e, e.callTimeout, func(ctx context.Context) (client.ContainerCreateResult, error) {
		return e.api.ContainerCreate(ctx, client.ContainerCreateOptions{Config: cfg, HostConfig: host, NetworkingConfig: netCfg, Name: spec.Name})
	})
	if err != nil {
		return "", fmt.Errorf("create container %s on %s: %w", spec.Name, e.host, err)
	}
	return resp.ID, nil
}

// AttachTTY attaches to the terminal of a container made by CreateTTY.
func (e *Engine) AttachTTY(ctx context.Context, name string) (*TTY, error) {
	what := "container " + name
	stream, err := call(ctx, e, e.callTimeout, func(ctx context.Context) (client.ContainerAttachResult, error) {
		return e.api.ContainerAttach(ctx, name, client.ContainerAttachOptions{Stream: true, Stdin: true, Stdout: true, Stderr: true})
	})
	if err != nil {
		return nil, fmt.Errorf("attach to %s on %s: %w", what, e.host, err)
	}
	t := e.newTTY(ctx, stream.HijackedResponse, what)
	t.resize = func(ctx context.Context, s Size) error {
		_, err := call(ctx, e, e.callTimeout, func(ctx context.Context) (client.ContainerResizeResult, error) {
			return e.api.ContainerResize(ctx, name, client.ContainerResizeOptions{Height: s.Rows, Width: s.Cols})
		})
		return err
	}
	t.exit = func(ctx context.Context) (bool, int, error) {
		c, err := e.Inspect(ctx, name)
		return c.Running() || c.State == StateCreated, c.ExitCode, err
	}
	return t, nil
}

// newTTY watches stream like any other stream of unknown length: a
// quiet terminal is fine as long as the engine answers its pings, and
// the stream is closed when the engine stops answering or ctx ends.
func (e *Engine) newTTY(ctx context.Context, stream client.HijackedResponse, what string) *TTY {
	w := e.watch(ctx)
	t := &TTY{stream: stream, w: w, host: e.host, what: what}
	t.stopWatch = context.AfterFunc(w.ctx, stream.Close)
	return t
}

// Read reads the terminal's output.
func (t *TTY) Read(p []byte) (int, error) {
	n, err := t.stream.Reader.Read(p)
	if n > 0 {
		t.w.moved()
	}
	if err != nil && t.w.ctx.Err() != nil {
		err = fmt.Errorf("%s on %s: %w", t.what, t.host, t.w.explain(t.w.ctx.Err()))
	}
	return n, err
}

// Write sends the process input.
func (t *TTY) Write(p []byte) (int, error) {
	n, err := t.stream.Conn.Write(p)
	if n > 0 {
		t.w.moved()
	}
	return n, err
}

// CloseWrite ends the process's input, as end of file; its output may go on.
func (t *TTY) CloseWrite() error { return t.stream.CloseWrite() }

// Resize sets the size of the process's terminal; the process gets SIGWINCH.
func (t *TTY) Resize(ctx context.Context, s Size) error {
	if s.Rows == 0 || s.Cols == 0 {
		return nil
	}
	if err := t.resize(ctx, s); err != nil {
		return fmt.Errorf("resize the terminal of %s on %s: %w", t.what, t.host, err)
	}
	return nil
}

// Wait waits for the process to end, once its output has, and returns
// its exit code; the engine may take a moment to record an exit.
func (t *TTY) Wait(ctx context.Context) (int, error) {
	for {
		running, code, err := t.exit(ctx)
		if err != nil {
			return -1, fmt.Errorf("%s on %s: %w", t.what, t.host, err)
		}
		if !running {
			return code, nil
		}
		select {
		case <-ctx.Done():
			return -1, fmt.Errorf("%s on %s: %w", t.what, t.host, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Close closes the stream; the process may go on (see Wait).
func (t *TTY) Close() error {
	t.closeOnce.Do(func() {
		t.stopWatch()
		t.w.stop()
		t.stream.Close()
	})
	return nil
}

var _ io.ReadWriteCloser = (*TTY)(nil)
