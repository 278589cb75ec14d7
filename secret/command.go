package secret

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
)

// NamePlaceholder is replaced by the secret's name in a Command's
// arguments.
const NamePlaceholder = "{name}"

// Command runs a program for each secret, such as a password manager's
// CLI, and takes its standard output as the value, with one trailing
// newline trimmed:
//
//	secret.Command{Args: []string{"op", "read", "op://production/hello/{name}"}}
//
// Every "{name}" in the arguments is replaced by the secret's name. The
// program gets no standard input. Its standard output is never shown;
// its standard error goes to Stderr and, when it fails, the end of it is
// quoted in the error. A program that exits with a non-zero status means
// the secret is missing.
type Command struct {
	// Args are the program and its arguments; at least one argument must
	// hold "{name}".
	Args []string
	// Stderr, when set, receives the program's standard error as it runs.
	Stderr io.Writer
}

var _ Source = Command{}

// String returns "command <args>".
func (c Command) String() string { return "command " + quoteArgs(c.Args) }

// stderrExcerpt is how much of a failing program's stderr an error quotes.
const stderrExcerpt = 512

// Secret runs the program for name and returns its output.
func (c Command) Secret(ctx context.Context, name string) (string, error) {
	if len(c.Args) == 0 {
		return "", errors.New("command secrets: Args is empty; set the program and its arguments")
	}
	args := make([]string, len(c.Args))
	named := false
	for i, a := range c.Args {
		args[i] = strings.ReplaceAll(a, NamePlaceholder, name)
		named = named || args[i] != a
	}
	if !named {
		return "", fmt.Errorf("command secrets: no argument of %s holds %q, so every secret would get the same value", quoteArgs(c.Args), NamePlaceholder)
	}
	var stdout bytes.Buffer
	stderr := &tailBuffer{max: stderrExcerpt}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Stdout = &stdout
	cmd.Stderr = stderr
	if c.Stderr != nil {
		cmd.Stderr = io.MultiWriter(stderr, c.Stderr)
	}
	err := cmd.Run()
	if ctx.Err() != nil {
		return "", fmt.Errorf("secret %s: %s: %w", name, quoteArgs(args), ctx.Err())
	}
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		where := fmt.Sprintf("%s exited with status %d", quoteArgs(args), ee.ExitCode())
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			where += ": " + strings.Join(strings.Fields(msg), " ")
		}
		return "", &MissingError{name, where}
	}
	if err != nil {
		return "", fmt.Errorf("secret %s: run %s: %w", name, quoteArgs(args), err)
	}
	v := stdout.String()
	if s, ok := strings.CutSuffix(v, "\n"); ok {
		v = strings.TrimSuffix(s, "\r")
	}
	return v, nil
}

// quoteArgs writes a command line as a POSIX shell would read it back,
// for errors a person reads.
func quoteArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:@,+") != "" {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		q[i] = a
	}
	return strings.Join(q, " ")
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.b) }
