package engine

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
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
func (e *Engine) Exec(ctx context.Context, name string, cmd []string, opts ExecOptions) (ExecResult, error) {
	if len(cmd) == 0 {
		return ExecResult{}, fmt.Errorf("exec in container %s on %s: no command given", name, e.host)
	}
	fail := func(err error) (ExecResult, error) {
		return ExecResult{}, fmt.Errorf("exec %s in container %s on %s: %w", cmd[0], name, e.host, err)
	}

	created, err := e.api.ContainerExecCreate(ctx, name, container.ExecOptions{
		Cmd:          cmd,
		Env:          opts.Env,
		User:         opts.User,
		WorkingDir:   opts.WorkingDir,
		AttachStdin:  opts.Stdin != nil,
		AttachStdout: true,
		AttachStderr: true,
	})
	if err != nil {
		return fail(e.cause(err))
	}
	stream, err := e.api.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{})
	if err != nil {
		return fail(e.cause(err))
	}
	defer stream.Close()
	// The attached stream outlives the request that opened it; close it
	// when ctx ends so that a hung command cannot hold Exec.
	defer context.AfterFunc(ctx, stream.Close)()

	if opts.Stdin != nil {
		go func() {
			_, _ = io.Copy(stream.Conn, opts.Stdin)
			_ = stream.CloseWrite()
		}()
	}
	var res ExecResult
	var stdout, stderr bytes.Buffer
	if _, err := stdcopy.StdCopy(&stdout, &stderr, stream.Reader); err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return fail(err)
	}
	res.Stdout, res.Stderr = stdout.Bytes(), stderr.Bytes()

	// The output ends as the command does, but the engine may take a moment to record its exit.
	for {
		state, err := e.api.ContainerExecInspect(ctx, created.ID)
		if err != nil {
			return fail(e.cause(err))
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
