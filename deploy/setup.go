package deploy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/deploy/proxy"
	"github.com/slipwayhq/slipway/deploy/ssh"
)

// DockerStatus is what a setup check found of Docker on a host.
type DockerStatus int

// The states of Docker on a host, from nothing to ready.
const (
	DockerMissing DockerStatus = iota // neither dockerd nor docker is installed
	DockerStopped                     // installed, but the engine does not answer on the server's socket
	DockerRunning                     // the engine answered on the server's socket
)

var dockerStatusNames = [...]string{"not installed", "installed but not answering", "running"}

// String says what the status means: "not installed", "running", ...
func (d DockerStatus) String() string {
	if d < 0 || int(d) >= len(dockerStatusNames) {
		return fmt.Sprintf("DockerStatus(%d)", int(d))
	}
	return dockerStatusNames[d]
}

// HostCheck is what a setup check read on one host, changing nothing.
type HostCheck struct {
	Host string
	// User is the login user, Root whether it is root (uid 0). A
	// non-root user runs setup's commands through `sudo -n`, which Sudo
	// says works without a password; InDockerGroup says whether the user
	// may use the engine's socket without sudo.
	User          string
	Root          bool
	Sudo          bool
	InDockerGroup bool
	// Apt says apt-get is there (Debian, Ubuntu or a derivative), and
	// Systemd that systemctl is; OS is the distribution's name from
	// /etc/os-release, "" when unknown.
	Apt     bool
	Systemd bool
	OS      string

	Docker DockerStatus
	// Engine is the engine's release when Docker runs; EngineError why
	// it did not answer otherwise (for the plan's print).
	Engine      string
	EngineError string
	// Network says the app's network exists and Proxy that kamal-proxy
	// runs; both are known only when Docker runs.
	Network bool
	Proxy   bool
}

// SetupPlan is what a setup does on each host, built by NewSetupPlan from
// what CheckServers found. It prints as a readable list of the commands
// and steps, and is the value Setup runs.
type SetupPlan struct {
	Service string
	Network string // the app's engine network
	Hosts   []HostSetup
}

// HostSetup is the setup of one host.
type HostSetup struct {
	Check HostCheck
	// Commands are run over SSH in order, each as one shell command:
	// installing Docker with the distribution's packages and starting it.
	// None when Docker runs already.
	Commands []string
	// Steps are the deploy's own steps that prepare the engine: the
	// app's network, and kamal-proxy on a host with a proxied role.
	Steps []Step
}

// Changes counts the commands and steps of the plan; 0 means the hosts are ready.
func (p SetupPlan) Changes() int {
	n := 0
	for _, h := range p.Hosts {
		n += len(h.Commands) + len(h.Steps)
	}
	return n
}

// ErrCannotSetup is the cause of the error about a host that setup
// cannot prepare by itself; the message says what to do by hand.
var ErrCannotSetup = errors.New("cannot set up the host")

// setupError names the host and says what to do by hand.
type setupError struct {
	host, msg string
}

func (e *setupError) Error() string        { return e.host + ": " + e.msg }
func (e *setupError) Is(target error) bool { return target == ErrCannotSetup }

// NewSetupPlan plans the setup of every host of a from what the checks
// found (one per host, in any order): where Docker is missing, install it
// with apt-get and start it with systemd; where it is installed but does
// not answer, start it; a non-root user runs each through `sudo -n` and is
// added to the docker group. Then the app's network and kamal-proxy where
// either is missing. It does no I/O. A host it cannot prepare (no
// apt-get, no systemd, or a non-root user without passwordless sudo) is
// an error matching ErrCannotSetup that says what to do by hand; every
// such host is reported at once.
func NewSetupPlan(a App, checks []HostCheck) (SetupPlan, error) {
	byHost := map[string]HostCheck{}
	for _, c := range checks {
		byHost[c.Host] = c
	}
	p := SetupPlan{Service: a.Service, Network: a.network()}
	var problems []error
	for _, h := range a.HostNames() {
		c, ok := byHost[h]
		if !ok {
			problems = append(problems, &setupError{h, "not checked: run CheckServers for every host of the app"})
			continue
		}
		hs := HostSetup{Check: c}
		cmds, err := dockerCommands(c)
		if err != nil {
			problems = append(problems, err)
		}
		hs.Commands = cmds
		ready := c.Docker == DockerRunning
		if !ready || !c.Network {
			hs.Steps = append(hs.Steps, Step{Kind: StepEnsureNetwork, Host: h, Container: a.network()})
		}
		// A running proxy that differs from the App is left to the next
		// deploy or proxy:reboot, which roll it host by host.
		if b, ok := proxyBoot(a, h); ok && (!ready || !c.Proxy) {
			hs.Steps = append(hs.Steps, Step{Kind: StepBootProxy, Host: h, Container: proxy.DefaultContainer, Image: b.Spec().Image})
		}
		p.Hosts = append(p.Hosts, hs)
	}
	if len(problems) > 0 {
		return p, errors.Join(problems...)
	}
	return p, nil
}

// dockerCommands are the commands that install and start Docker on a
// host, given what its check found.
func dockerCommands(c HostCheck) ([]string, error) {
	if c.Docker == DockerRunning { // and this user may use it
		return nil, nil
	}
	name := c.Host
	if c.OS != "" {
		name += " (" + c.OS + ")"
	}
	if !c.Root && !c.Sudo {
		return nil, &setupError{c.Host, fmt.Sprintf("Docker is %s and user %s is not root and cannot run sudo without a password: "+
			"log in as root (Server.User), or allow %s passwordless sudo, or install and start Docker there by hand", c.Docker, c.User, c.User)}
	}
	sudo := func(cmd string) string {
		if c.Root {
			return cmd
		}
		return "sudo -n " + cmd
	}
	var cmds []string
	switch c.Docker {
	case DockerMissing:
		if !c.Apt {
			return nil, &setupError{c.Host, fmt.Sprintf("Docker is not installed and %s has no apt-get (it is not Debian or Ubuntu): "+
				"install Docker Engine there by hand with the distribution's packages (docker, or docker-ce from Docker's repository), start it, then run server:setup again", name)}
		}
		cmds = append(cmds,
			sudo("apt-get update"),
			sudo("env DEBIAN_FRONTEND=noninteractive apt-get install -y docker.io"))
		fallthrough
	case DockerStopped:
		if !c.Systemd {
			return nil, &setupError{c.Host, fmt.Sprintf("Docker is %s and %s has no systemctl to start it with: start dockerd there by hand, then run server:setup again", c.Docker, name)}
		}
		cmds = append(cmds, sudo("systemctl enable --now docker"))
	}
	if !c.Root && !c.InDockerGroup {
		cmds = append(cmds, sudo("usermod -aG docker "+c.User))
	}
	return cmds, nil
}

// String prints the plan: per host, what was found, then each command and step.
func (p SetupPlan) String() string {
	var b strings.Builder
	if p.Changes() == 0 {
		fmt.Fprintf(&b, "Nothing to set up for %s: on %s Docker runs, network %s exists and kamal-proxy runs where a role needs it\n",
			p.Service, plural(len(p.Hosts), "host", "hosts"), p.Network)
		return b.String()
	}
	fmt.Fprintf(&b, "Set up %s for %s:\n", plural(len(p.Hosts), "host", "hosts"), p.Service)
	for _, h := range p.Hosts {
		fmt.Fprintf(&b, "  %-15s %s\n", h.Check.Host, h.Check.found())
		if len(h.Commands)+len(h.Steps) == 0 {
			b.WriteString("    nothing to do\n")
		}
		for _, cmd := range h.Commands {
			fmt.Fprintf(&b, "    $ %s\n", cmd)
		}
		for _, st := range h.Steps {
			fmt.Fprintf(&b, "    %s\n", st.describe())
		}
	}
	return b.String()
}

// found says in a line what the check found.
func (c HostCheck) found() string {
	var parts []string
	if c.OS != "" {
		parts = append(parts, c.OS)
	}
	switch {
	case c.Root:
		parts = append(parts, "user "+c.User)
	case c.Sudo:
		parts = append(parts, "user "+c.User+" (sudo -n)")
	default:
		parts = append(parts, "user "+c.User+" (no sudo)")
	}
	docker := "Docker " + c.Docker.String()
	if c.Docker == DockerRunning && c.Engine != "" {
		docker += " " + c.Engine
	}
	parts = append(parts, docker)
	if c.Docker == DockerRunning {
		parts = append(parts, map[bool]string{true: "network present", false: "network missing"}[c.Network],
			map[bool]string{true: "kamal-proxy running", false: "kamal-proxy not running"}[c.Proxy])
	}
	return strings.Join(parts, ", ")
}

// setupProbe prints what a setup check needs, one key=value a line. It
// only reads.
const setupProbe = `echo "uid=$(id -u)"
echo "user=$(id -un)"
id -nG 2>/dev/null | tr ' ' '\n' | grep -qx docker && echo group=yes
command -v apt-get >/dev/null 2>&1 && echo apt=yes
command -v systemctl >/dev/null 2>&1 && echo systemd=yes
{ command -v dockerd || command -v docker; } >/dev/null 2>&1 && echo docker=yes
[ "$(id -u)" = 0 ] || { sudo -n true >/dev/null 2>&1 && echo sudo=yes; }
[ -r /etc/os-release ] && sed -n 's/^PRETTY_NAME=//p' /etc/os-release | tr -d '"' | sed 's/^/os=/'
true`

// parseProbe reads setupProbe's output into c.
func parseProbe(out []byte, c *HostCheck) {
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), "=")
		switch k {
		case "uid":
			c.Root = v == "0"
		case "user":
			c.User = v
		case "group":
			c.InDockerGroup = true
		case "apt":
			c.Apt = true
		case "systemd":
			c.Systemd = true
		case "docker":
			c.Docker = max(c.Docker, DockerStopped)
		case "sudo":
			c.Sudo = true
		case "os":
			c.OS = v
		}
	}
}

// setupHost is a host under setup: its SSH connection, and its check.
type setupHost struct {
	ssh   *ssh.Client
	check HostCheck
}

// CheckServers reads, on every host of a, what a setup needs to know:
// the login user and its sudo, the distribution, whether Docker is
// installed and answers on the server's socket, and then whether the
// app's network exists and kamal-proxy runs. It changes nothing. Hosts
// are dialled over SSH only, so a host without Docker is checked too.
func CheckServers(ctx context.Context, a App, opts Options) ([]HostCheck, error) {
	hosts, err := checkServers(ctx, a, opts)
	checks := make([]HostCheck, len(hosts))
	for i, h := range hosts {
		checks[i] = h.check
		if h.ssh != nil {
			h.ssh.Close()
		}
	}
	return checks, err
}

func checkServers(ctx context.Context, a App, opts Options) ([]setupHost, error) {
	a, err := a.expand()
	if err != nil {
		return nil, err
	}
	s := &Session{app: a, opts: opts}
	names := a.HostNames()
	hosts := make([]setupHost, len(names))
	err = fanOut(opts.parallel(), len(names), func(i int) error {
		srv := a.server(names[i])
		hosts[i].check.Host = names[i]
		c, err := ssh.Dial(ctx, s.sshConfig(srv))
		if err != nil {
			return err
		}
		hosts[i].ssh = c
		return probeHost(ctx, c, a, srv, opts, &hosts[i].check)
	})
	return hosts, err
}

// probeHost fills in c from the host behind conn.
func probeHost(ctx context.Context, conn *ssh.Client, a App, srv Server, opts Options, c *HostCheck) error {
	res, err := conn.Run(ctx, setupProbe, nil)
	if err != nil {
		return fmt.Errorf("check %s: %w", c.Host, err)
	}
	parseProbe(res.Stdout, c)
	socket := orDefault(srv.DockerSocket, engine.DefaultSocket)
	e, err := engine.New(ctx, func(ctx context.Context) (net.Conn, error) {
		return conn.DialContext(ctx, "unix", socket)
	}, engine.Options{Host: conn.Host(), Socket: socket, CallTimeout: opts.callTimeout()})
	if err != nil {
		c.EngineError = firstLine(err.Error())
		return nil
	}
	defer e.Close()
	c.Docker = DockerRunning
	if v, err := e.Version(ctx); err == nil {
		c.Engine = v.Server
	}
	if c.Network, err = e.NetworkExists(ctx, a.network()); err != nil {
		return err
	}
	px, err := e.Inspect(ctx, proxy.DefaultContainer)
	switch {
	case errors.Is(err, engine.ErrNotFound):
	case err != nil:
		return err
	default:
		c.Proxy = px.Running()
	}
	return nil
}

// commandRunner runs one shell command on a host, as *ssh.Client does.
type commandRunner interface {
	Run(ctx context.Context, cmd string, stdin io.Reader) (ssh.Result, error)
}

var _ commandRunner = (*ssh.Client)(nil)

// runSetupCommands runs a host's setup commands in order, a line each,
// and stops at the first that fails.
func runSetupCommands(ctx context.Context, r commandRunner, hs HostSetup, out *printer) error {
	for _, cmd := range hs.Commands {
		start := time.Now()
		_, err := r.Run(ctx, cmd, nil)
		out.step(hs.Check.Host, "", "setup", cmd, start, err)
		if err != nil {
			return fmt.Errorf("%s: %w", hs.Check.Host, err)
		}
	}
	return nil
}

// Setup prepares every host of a for its first deploy, as `server:setup`
// does: it checks each host (CheckServers), prints the plan (NewSetupPlan)
// to opts.Output, then installs and starts Docker where it is missing,
// with the distribution's packages, and creates the app's network and
// boots kamal-proxy where they are missing, through the same steps as a
// deploy, a line per host and step. A host it cannot prepare fails the
// setup before any host is changed. Running it again changes nothing.
func Setup(ctx context.Context, a App, opts Options) (SetupPlan, error) {
	w := opts.Output
	if w == nil {
		w = os.Stdout
	}
	out := newPrinter(w)
	hosts, err := checkServers(ctx, a, opts)
	defer func() {
		for _, h := range hosts {
			if h.ssh != nil {
				h.ssh.Close()
			}
		}
	}()
	if err != nil {
		return SetupPlan{}, err
	}
	checks := make([]HostCheck, len(hosts))
	byHost := map[string]*ssh.Client{}
	for i, h := range hosts {
		checks[i] = h.check
		byHost[h.check.Host] = h.ssh
	}
	plan, err := NewSetupPlan(a, checks)
	if err != nil {
		return plan, err
	}
	out.linef("%s", strings.TrimRight(plan.String(), "\n"))
	if plan.Changes() == 0 {
		return plan, nil
	}
	start := time.Now()
	err = fanOut(opts.parallel(), len(plan.Hosts), func(i int) error {
		hs := plan.Hosts[i]
		return runSetupCommands(ctx, byHost[hs.Check.Host], hs, out)
	})
	if err != nil {
		return plan, err
	}
	var steps []Step
	for _, hs := range plan.Hosts {
		steps = append(steps, hs.Steps...)
	}
	if len(steps) > 0 {
		// New connections: a user just added to the docker group has it only in a new login.
		opts.Output = w
		s, err := Connect(ctx, a, opts)
		if err != nil {
			return plan, err
		}
		defer s.Close()
		if err := s.setupSteps(ctx, plan); err != nil {
			return plan, err
		}
	}
	out.linef("set up %s in %s", plural(len(plan.Hosts), "host", "hosts"), seconds(time.Since(start)))
	return plan, nil
}

// setupSteps runs each host's engine steps in order, hosts at once.
func (s *Session) setupSteps(ctx context.Context, plan SetupPlan) error {
	return fanOut(s.opts.parallel(), len(plan.Hosts), func(i int) error {
		for _, st := range plan.Hosts[i].Steps {
			start := time.Now()
			err := s.step(ctx, Plan{Service: s.app.Service}, st)
			s.record(nil, stepLine{host: st.Host, step: st.Kind.String(), detail: describe(st), start: start, err: err})
			if err != nil {
				return fmt.Errorf("%s: %s: %w", st.Host, st.Kind, err)
			}
		}
		return nil
	})
}
