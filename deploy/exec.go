package deploy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/deploy/engine"
)

// ErrNotRunning means a role runs no container on a host, so there is no
// current release to exec in or to take the image of.
var ErrNotRunning = errors.New("no running container")

// LabelExec marks the one-off containers of Exec with the app's service.
// They carry no LabelService, so they are never taken for a release.
const LabelExec = "slipway.exec"

// ExecOptions say what Exec runs, and where.
type ExecOptions struct {
	// Cmd is the command. In the running container it is run as given;
	// a one-off container runs it with the image's entrypoint, like a
	// role's Cmd.
	Cmd []string
	// Role whose containers run the command; "" means the primary role.
	Role string
	// Host runs the command on one host of the role; "" means every host
	// of the role with Reuse, and the role's first host for a one-off.
	Host string
	// Reuse runs the command inside the role's running container instead
	// of a one-off container of its image.
	Reuse bool
}

// ExecResult is how a command went on one host.
type ExecResult struct {
	Host string
	Role string
	// Container is the running container the command ran in, or the
	// one-off container it ran in (since removed).
	Container string
	Version   string
	ExitCode  int
	// Stdout and Stderr are the command's output as it wrote it, secrets
	// included: only the output written to Exec's writer is redacted.
	Stdout, Stderr []byte
	Duration       time.Duration
	// Err says why the command could not run, or is an *ExitError when
	// it exited non-zero.
	Err error
}

// ExitError is a command that ran and exited non-zero on a host.
type ExitError struct {
	Host string
	// Program is the command's first word; the arguments are left out,
	// since they may hold secrets.
	Program string
	Code    int
}

// Error names the program, its exit code and the host.
func (e *ExitError) Error() string {
	return fmt.Sprintf("%s exited %d on %s", e.Program, e.Code, e.Host)
}

// Exec runs a command on the hosts of a role at once, as of the release
// the role runs there, and writes its output to w, each line prefixed with
// its host and role, secret values redacted. With Reuse it runs inside the
// running container; otherwise in a one-off container of that container's
// image, with the role's env (secrets resolved as a deploy resolves them),
// the app's network and volumes, removed once the command ends. The
// results are in host order; the error joins every host's failure,
// non-zero exits included.
func (s *Session) Exec(ctx context.Context, opts ExecOptions, w io.Writer) (_ []ExecResult, err error) {
	defer s.redactErr(&err)
	if len(opts.Cmd) == 0 {
		return nil, errors.New("exec: no command given")
	}
	role := orDefault(opts.Role, s.app.primaryRole())
	r, ok := s.app.Roles[role]
	if !ok {
		return nil, fmt.Errorf("exec: unknown role %q; the app's roles: %s", role, strings.Join(s.app.roleNames(), ", "))
	}
	var hosts []string
	for _, srv := range r.Servers {
		hosts = append(hosts, srv.Host)
	}
	switch {
	case opts.Host != "":
		if !slices.Contains(hosts, opts.Host) {
			return nil, fmt.Errorf("exec: role %s does not run on %s; its hosts: %s", role, opts.Host, strings.Join(hosts, ", "))
		}
		hosts = []string{opts.Host}
	case !opts.Reuse:
		hosts = hosts[:1]
	}
	// The command sees the secrets either way, so its output is redacted either way.
	if _, err := s.resolveSecrets(ctx); err != nil {
		return nil, err
	}

	sink := s.newLineSink(w)
	defer sink.Close()
	results := make([]ExecResult, len(hosts))
	err = s.onHosts(hosts, func(i int, h *hostConn) error {
		start := time.Now()
		res := ExecResult{Host: h.name, Role: role}
		cur, err := s.running(ctx, h, role)
		if err == nil {
			res.Container, res.Version = cur.Name, cur.Labels[LabelVersion]
			if opts.Reuse {
				err = s.execIn(ctx, h, cur, opts.Cmd, sink, &res)
			} else {
				err = s.execOneOff(ctx, h, cur, role, opts.Cmd, sink, &res)
			}
		}
		if err == nil && res.ExitCode != 0 {
			err = &ExitError{Host: h.name, Program: opts.Cmd[0], Code: res.ExitCode}
		}
		res.Duration, res.Err = time.Since(start), err
		s.record(nil, stepLine{host: h.name, role: role, step: "exec", detail: res.Container, start: start, err: err})
		results[i] = res
		return err
	})
	if len(hosts) > 1 {
		sink.Close() // the command's last line before the table
		s.execSummary(results)
	}
	return results, err
}

// execSummary prints a row per host: the release the command ran as,
// and how it ended ("ok", "exit 2", "FAILED" when it could not run).
func (s *Session) execSummary(results []ExecResult) {
	table := [][]string{{"HOST", "ROLE", "VERSION", "RESULT", "TIME"}}
	for _, r := range results {
		result := "ok"
		var ee *ExitError
		switch {
		case errors.As(r.Err, &ee):
			result = fmt.Sprintf("exit %d", ee.Code)
		case r.Err != nil:
			result = "FAILED"
		}
		table = append(table, []string{r.Host, r.Role, orDefault(r.Version, "-"), result, seconds(r.Duration)})
	}
	s.out.table([]int{15, 8, 12, 8}, table...)
}

// running returns the role's newest running container on host.
func (s *Session) running(ctx context.Context, h *hostConn, role string) (engine.Container, error) {
	cs, err := s.appContainers(ctx, h)
	if err != nil {
		return engine.Container{}, err
	}
	c, ok := current(cs, role)
	if !ok || !c.Running() {
		return engine.Container{}, fmt.Errorf("%w of role %s on %s: deploy first", ErrNotRunning, role, h.name)
	}
	return c, nil
}

func (s *Session) execIn(ctx context.Context, h *hostConn, c engine.Container, cmd []string, sink *lineSink, res *ExecResult) error {
	out, err := h.engine.Exec(ctx, c.Name, cmd, engine.ExecOptions{})
	if err != nil {
		return err
	}
	res.ExitCode, res.Stdout, res.Stderr = out.ExitCode, out.Stdout, out.Stderr
	prefix := linePrefix(h.name, res.Role)
	for _, b := range [][]byte{out.Stdout, out.Stderr} {
		lw := sink.writer(prefix)
		if _, err := lw.Write(b); err != nil {
			return err
		}
		if err := lw.Close(); err != nil {
			return err
		}
	}
	return nil
}

func (s *Session) execOneOff(ctx context.Context, h *hostConn, c engine.Container, role string, cmd []string, sink *lineSink, res *ExecResult) error {
	e := h.engine
	spec := s.oneOffSpec(c, h.name, role, cmd)
	name := spec.Name
	res.Container = name
	if _, err := e.Create(ctx, spec); err != nil {
		return err
	}
	defer e.Remove(context.WithoutCancel(ctx), name, true)
	if err := e.Start(ctx, name); err != nil {
		return err
	}

	var stdout, stderr bytes.Buffer
	prefix := linePrefix(h.name, role)
	outW, errW := sink.writer(prefix), sink.writer(prefix)
	err := e.Logs(ctx, name, engine.LogOptions{Follow: true}, io.MultiWriter(&stdout, outW), io.MultiWriter(&stderr, errW))
	err = errors.Join(err, outW.Close(), errW.Close())
	res.Stdout, res.Stderr = stdout.Bytes(), stderr.Bytes()
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return err
	}
	// The output ends as the command does; the engine may take a moment to record its exit.
	for {
		st, err := e.Inspect(ctx, name)
		if err != nil {
			return err
		}
		if !st.Running() && st.State != engine.StateCreated {
			res.ExitCode = st.ExitCode
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// oneOffSpec is the one-off container that runs cmd as of the running
// container c of role on host: its image, the role's env on that host
// (secrets resolved), the app's network and volumes, labelled as Exec's
// and never restarted.
func (s *Session) oneOffSpec(c engine.Container, host, role string, cmd []string) engine.ContainerSpec {
	version := c.Labels[LabelVersion]
	name := fmt.Sprintf("%s-exec-%08x", ContainerName(s.app, role, version), rand.Uint32())
	env, secrets := s.app.envFor(role, host)
	// The image by ID: the code the running container runs, even if its tag has moved since.
	image := orDefault(c.ImageID, c.Image)
	spec := s.containerSpec(Plan{Version: version},
		Step{Role: role, Container: name, Image: image, Cmd: cmd, Env: env, Secrets: secrets})
	spec.Labels = map[string]string{LabelExec: s.app.Service, LabelRole: role, LabelVersion: version}
	if s.app.Destination != "" {
		spec.Labels[LabelDestination] = s.app.Destination
	}
	spec.Restart = "no"
	return spec
}
