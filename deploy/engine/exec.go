package engine

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
)

// ExecOptions tune a command Exec runs.
type ExecOptions struct {
	Env        []string  // KEY=VALUE pairs added to the container's environment
	User       string    // user[:group] to run as; "" means the container's
	WorkingDir string    // "" means the container's
	Stdin      io.Reader // fed to the command's standard input, then closed; nil gives it none
}

// Exec runs cmd inside a running container, waits for it to end and
// returns its exit code and output; a non-zero exit is not an error. Errors
// name the program, cmd[0], and not its arguments, which may hold secrets.
// The command may run as long as ctx allows, quiet or not, while the
// engine answers (see Options.IdleTimeout).
func (e *Engine) Exec(ctx context.Context, name string, cmd []string, opts ExecOptions) (ExecResult, error) {
	if len(cmd) == 0 {
		return ExecResult{}, fmt.Errorf("exec in container %s on %s: no command given", name, e.host)
	}
	fail := func(err error) (ExecResult, error) {
		return ExecResult{}, fmt.Errorf("exec %s in container %s on %s: %w", cmd[0], name, e.host, err)
	}

	created, err := call(ctx, e, e.callTimeout, func(ctx context.Context) (client.ExecCreateResult, error) {
		return e.api.ExecCreate(ctx, name, client.ExecCreateOptions{
			Cmd:          cmd,
			Env:          opts.Env,
			User:         opts.User,
			WorkingDir:   opts.WorkingDir,
			AttachStdin:  opts.Stdin != nil,
			AttachStdout: true,
			AttachStderr: true,
		})
	})
	if err != nil {
		return fail(err)
	}
	// The handshake is bounded; the attached stream outlives it.
	stream, err := call(ctx, e, e.callTimeout, func(ctx context.Context) (client.ExecAttachResult, error) {
		return e.api.ExecAttach(ctx, created.ID, client.ExecAttachOptions{})
	})
	if err != nil {
		return fail(err)
	}
	defer stream.Close()
	w := e.watch(ctx)
	defer w.stop()
	// Close the stream when the watch ends the call (or ctx does), so
	// that neither a hung command nor a hung engine can hold Exec.
	defer context.AfterFunc(w.ctx, stream.Close)()

	if opts.Stdin != nil {
		go func() {
			_, _ = io.Copy(stream.Conn, w.reader(opts.Stdin))
			_ = stream.CloseWrite()
		}()
	}
	var res ExecResult
	var stdout, stderr bytes.Buffer
	if _, err := stdcopy.StdCopy(&stdout, &stderr, w.reader(stream.Reader)); err != nil {
		if w.ctx.Err() != nil {
			err = w.explain(w.ctx.Err()) // why the stream was closed
		}
		return fail(err)
	}
	res.Stdout, res.Stderr = stdout.Bytes(), stderr.Bytes()

	// The output ends as the command does, but the engine may take a moment to record its exit.
	for {
		state, err := call(ctx, e, e.callTimeout, func(ctx context.Context) (client.ExecInspectResult, error) {
			return e.api.ExecInspect(ctx, created.ID, client.ExecInspectOptions{})
		})
		if err != nil {
			return fail(err)
		}
		if !state.Running {
			res.ExitCode = state.ExitCode
			return res, nil
		}
		select {
		case <-ctx.Done():
			return fail(ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}
