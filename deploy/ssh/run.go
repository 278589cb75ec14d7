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

// Stream runs a shell command with its output going to stdout and stderr
// as it is produced, and returns its exit code. When ctx ends, Stream sends
// the command SIGKILL, closes the session and returns at once. OpenSSH
// ignores signals in root sessions, so there a command that reads no input
// and writes no output may run on until it ends by itself.
func (c *Client) Stream(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	sess, err := c.conn.NewSession()
	if err != nil {
		return -1, fmt.Errorf("run %q on %s: open session: %w", cmd, c.Host(), err)
	}
	defer sess.Close()
	sess.Stdin, sess.Stdout, sess.Stderr = stdin, stdout, stderr

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
