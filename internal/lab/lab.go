// Package lab runs Slipway's test lab: real hosts on this machine that the
// SDK reaches exactly as it reaches a server.
//
// A lab host is a Linux network namespace with its own address, its own
// OpenSSH sshd (key auth only, a generated host key recorded in the lab's
// known_hosts; its sessions see a /root of their own) and its own dockerd (own socket, data root, exec root and
// containerd namespaces). Host N answers at 10.250.N.2; the root namespace
// side of its veth pair is 10.250.N.1, and hosts reach each other through
// it, as servers on one private network do. Every host's engine holds the
// kamal-proxy image production pulls (basecamp/kamal-proxy:v0.9.2, built
// here from the Go module) and the test app images slipway/testapp:v1..v3,
// all built from Go source: nothing is pulled.
//
// Beside the hosts runs a bastion (Lab.Bastion, at BastionAddr): a
// namespace with an sshd and no dockerd, that reaches every host and
// takes at most BastionMaxStartups connections that have not logged in
// yet. Bastion.Behind gives a host's SSH configuration through it, and
// Bastion.ClientConnections counts on the bastion the connections this
// machine holds to it.
//
// Up and Down need root; Up installs Debian's docker.io, openssh-server and
// iproute2 when they are missing. Tests reach the lab with Require.
package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/deploy/ssh"
)

// Defaults for Options fields left zero.
const (
	DefaultHosts = 3
	// MaxHosts is the largest lab Up makes: a host costs about 130 MB
	// (dockerd and containerd) plus its containers, and 30 of them fit
	// a 2-core, 24 GiB machine beside the tests.
	MaxHosts   = 30
	DefaultDir = "/tmp/slipway-lab"
)

// Image tags every lab host's engine holds after Up.
const (
	ProxyImage    = "basecamp/kamal-proxy:v0.9.2"
	TestAppImage  = "slipway/testapp" // tagged :v1, :v2 and :v3
	TestAppPort   = 3000
	proxyVersion  = "v0.9.2"
	proxyModule   = "github.com/basecamp/kamal-proxy"
	netnsPrefix   = "slipway-h"
	addressPrefix = "10.250."
)

// TestAppVersions are the tags of the test app image; each reports its tag
// as its version.
var TestAppVersions = []string{"v1", "v2", "v3"}

// Options configure Up and Down. The zero value is the default lab.
type Options struct {
	// Hosts is how many hosts Up ensures; 0 means DefaultHosts.
	Hosts int
	// Dir holds every file of the lab; "" means $SLIPWAY_LAB_DIR or DefaultDir.
	Dir string
	// Log receives one line per step, with its duration, and a line as
	// each long step (a package install, a build, a host) starts; nil
	// discards them.
	Log io.Writer
}

func (o Options) dir() string {
	if o.Dir != "" {
		return o.Dir
	}
	if d := os.Getenv("SLIPWAY_LAB_DIR"); d != "" {
		return d
	}
	return DefaultDir
}

func (o Options) hosts() int {
	if o.Hosts <= 0 {
		return DefaultHosts
	}
	return o.Hosts
}

// logMu keeps the lines of steps running at once (hosts, builds) whole
// when Log is not safe for concurrent writes.
var logMu sync.Mutex

func (o Options) logf(format string, args ...any) {
	if o.Log != nil {
		logMu.Lock()
		defer logMu.Unlock()
		fmt.Fprintf(o.Log, "lab: "+format+"\n", args...)
	}
}

// Lab is a running lab.
type Lab struct {
	Dir        string
	KeyFile    string // the client's private key, authorised on every host
	KnownHosts string // every host's key, the bastion's too
	Hosts      []Host
	// Bastion is the lab's jump host to the hosts; nil when it does not
	// run (a lab made before it had one: Up adds it).
	Bastion *Bastion
}

// Host is one lab host.
type Host struct {
	Name       string // h1, h2, ...
	Addr       string // its address, reachable from the root namespace
	Port       int
	User       string
	KeyFile    string
	KnownHosts string
	// DockerSocket is the engine's socket path, as seen on the host.
	DockerSocket string

	dir string
}

// SSHConfig returns the transport configuration that reaches the host,
// strict host-key checking included.
func (h Host) SSHConfig() ssh.Config {
	return ssh.Config{
		Host:       h.Addr,
		Port:       h.Port,
		User:       h.User,
		KeyFiles:   []string{h.KeyFile},
		NoAgent:    true,
		KnownHosts: h.KnownHosts,
	}
}

// URL returns http://addr:port/ for a port published on the host.
func (h Host) URL(port int) string {
	if port == 80 {
		return "http://" + h.Addr + "/"
	}
	return "http://" + net.JoinHostPort(h.Addr, strconv.Itoa(port)) + "/"
}

func hostName(i int) string { return "h" + strconv.Itoa(i) }
func hostAddr(i int) string { return addressPrefix + strconv.Itoa(i) + ".2" }
func gateway(i int) string  { return addressPrefix + strconv.Itoa(i) + ".1" }
func netns(i int) string    { return netnsPrefix + strconv.Itoa(i) }

// Open describes the lab in dir (see Options.Dir) as it runs now. It
// returns an error naming what is missing when no lab, or a broken one,
// is there.
func Open(opts Options) (*Lab, error) {
	dir := opts.dir()
	l := &Lab{Dir: dir, KeyFile: filepath.Join(dir, "id_ed25519"), KnownHosts: filepath.Join(dir, "known_hosts")}
	if _, err := os.Stat(l.KeyFile); err != nil {
		return nil, fmt.Errorf("no lab in %s: run `go run mage.go lab:up` as root", dir)
	}
	for i := 1; ; i++ {
		hdir := filepath.Join(dir, hostName(i))
		if _, err := os.Stat(hdir); err != nil {
			break
		}
		h := l.host(i)
		if err := h.alive(); err != nil {
			return nil, fmt.Errorf("lab host %s (%s) is down: %w; run `go run mage.go lab:up` to repair it", h.Name, h.Addr, err)
		}
		l.Hosts = append(l.Hosts, h)
	}
	if b := l.bastion(); b.alive() == nil {
		l.Bastion = &b
	}
	return l, nil
}

func (l *Lab) host(i int) Host {
	hdir := filepath.Join(l.Dir, hostName(i))
	return Host{
		Name: hostName(i), Addr: hostAddr(i), Port: 22, User: "root",
		KeyFile: l.KeyFile, KnownHosts: l.KnownHosts,
		DockerSocket: filepath.Join(hdir, "docker.sock"),
		dir:          hdir,
	}
}

// alive checks the host's daemons by their pid files and sockets, without
// connecting: cheap enough for every test.
func (h Host) alive() error {
	if _, err := os.Stat(filepath.Join("/run/netns", netnsPrefix+h.Name[1:])); err != nil {
		return errors.New("network namespace missing")
	}
	for _, d := range []string{"sshd", "dockerd"} {
		if !pidAlive(filepath.Join(h.dir, d+".pid")) {
			return fmt.Errorf("%s not running", d)
		}
	}
	if _, err := os.Stat(h.DockerSocket); err != nil {
		return errors.New("docker socket missing")
	}
	return nil
}

func pidAlive(pidfile string) bool {
	pid := readPid(pidfile)
	return pid > 0 && syscall.Kill(pid, 0) == nil
}

func readPid(pidfile string) int {
	b, err := os.ReadFile(pidfile)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// localEngine talks to a host's engine through its socket on this machine,
// the fast way in for lab setup; tests use Host.Engine, over SSH.
func (h Host) localEngine(ctx context.Context) (*engine.Engine, error) {
	sock := h.DockerSocket
	return engine.New(ctx, func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}, engine.Options{Host: h.Name + " (local socket)", Socket: sock})
}

// hostIndexes lists the indexes of hosts that have a directory in dir.
func hostIndexes(dir string) []int {
	entries, _ := os.ReadDir(dir)
	var idx []int
	for _, e := range entries {
		if n, err := strconv.Atoi(strings.TrimPrefix(e.Name(), "h")); err == nil && strings.HasPrefix(e.Name(), "h") {
			idx = append(idx, n)
		}
	}
	sort.Ints(idx)
	return idx
}

// since formats the time since t for the lab's log lines.
func since(t time.Time) string { return time.Since(t).Round(10 * time.Millisecond).String() }

// DaemonPIDs returns the process IDs of the host's dockerd and sshd.
func (h Host) DaemonPIDs() (dockerd, sshd int) {
	return readPid(filepath.Join(h.dir, "dockerd.pid")), readPid(filepath.Join(h.dir, "sshd.pid"))
}

// Host describes lab host i (1-based) of the lab in opts.Dir, whether or
// not it runs: its address and paths are fixed by its number.
func (o Options) Host(i int) Host {
	dir := o.dir()
	l := &Lab{Dir: dir, KeyFile: filepath.Join(dir, "id_ed25519"), KnownHosts: filepath.Join(dir, "known_hosts")}
	return l.host(i)
}
