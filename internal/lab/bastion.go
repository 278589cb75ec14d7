package lab

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/deploy/ssh"
)

// The lab's bastion: a jump host in a network namespace of its own, away
// from the hosts' numbers, that reaches every lab host.
const (
	BastionName = "bastion"
	BastionAddr = addressPrefix + "200.2"
	// BastionMaxStartups is the bastion sshd's MaxStartups: it takes 10
	// connections that have not logged in yet, and drops every one past
	// them at once (no random early drop), as a hardened bastion does.
	BastionMaxStartups = 10

	bastionGateway = addressPrefix + "200.1"
	bastionNetns   = "slipway-" + BastionName
	bastionVeth    = "slwb" // slwbr in the root namespace, slwbn in the bastion's
)

// Bastion is the lab's jump host: its own network namespace at
// BastionAddr and its own sshd (key auth with the lab's key, TCP
// forwarding on, MaxStartups BastionMaxStartups, MaxSessions 1, log
// level VERBOSE so that every refused start is logged), and no dockerd. Up makes it
// beside the hosts and Down removes it. Servers reach a lab host through
// it with Behind.
type Bastion struct {
	Name       string // "bastion"
	Addr       string // BastionAddr
	Port       int
	User       string
	KeyFile    string
	KnownHosts string

	dir string
}

func (l *Lab) bastion() Bastion {
	return Bastion{Name: BastionName, Addr: BastionAddr, Port: 22, User: "root",
		KeyFile: l.KeyFile, KnownHosts: l.KnownHosts, dir: filepath.Join(l.Dir, BastionName)}
}

// SSHConfig returns the transport configuration that reaches the
// bastion itself, strict host-key checking included.
func (b Bastion) SSHConfig() ssh.Config {
	return ssh.Config{Host: b.Addr, Port: b.Port, User: b.User, KeyFiles: []string{b.KeyFile}, NoAgent: true, KnownHosts: b.KnownHosts}
}

// Behind returns h's transport configuration with the bastion as its
// Jump: the connection to h runs through the bastion's sshd, as to a
// server on a private network.
func (b Bastion) Behind(h Host) ssh.Config {
	cfg := h.SSHConfig()
	j := b.SSHConfig()
	cfg.Jump = &j
	return cfg
}

// String names the bastion for test output.
func (b Bastion) String() string { return fmt.Sprintf("%s (%s)", b.Name, b.Addr) }

// LogFile is the bastion sshd's log.
func (b Bastion) LogFile() string { return filepath.Join(b.dir, "sshd.log") }

// ClientConnections counts, as the bastion's kernel sees them, the
// established SSH connections to the bastion from outside the lab's
// hosts (this machine's root namespace, where the SDK runs): what a
// deploy through the bastion holds open.
func (b Bastion) ClientConnections() (int, error) {
	local, from := hexAddr(BastionAddr, b.Port), hexAddr(bastionGateway, 0)[:8]+":"
	return b.countTCP(func(l, r string) bool { return l == local && strings.HasPrefix(r, from) })
}

// ForwardedConnections counts the established connections the bastion
// holds to sshd (port 22) on the lab's hosts: one for each host reached
// through it.
func (b Bastion) ForwardedConnections() (int, error) {
	local, port := hexAddr(BastionAddr, 0)[:8]+":", fmt.Sprintf(":%04X", 22)
	return b.countTCP(func(l, r string) bool { return strings.HasPrefix(l, local) && strings.HasSuffix(r, port) })
}

// countTCP counts the established TCP sockets of the bastion's network
// namespace whose local and remote addresses (as /proc/net/tcp prints
// them) match.
func (b Bastion) countTCP(match func(local, remote string) bool) (int, error) {
	pid := readPid(filepath.Join(b.dir, "sshd.pid"))
	if pid <= 0 {
		return 0, errors.New("lab: the bastion's sshd is not running")
	}
	// /proc/PID/net/tcp lists the sockets of PID's network namespace.
	f, err := os.Open(fmt.Sprintf("/proc/%d/net/tcp", pid))
	if err != nil {
		return 0, fmt.Errorf("lab: bastion connections: %w", err)
	}
	defer f.Close()
	// The kernel writes the table a page at a time and may list a socket
	// twice when sockets come and go between pages: count each pair of
	// addresses, unique to an established socket, once.
	seen := map[string]bool{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		// sl local_address rem_address st ...; 01 is ESTABLISHED.
		if len(fields) > 3 && fields[3] == "01" && match(fields[1], fields[2]) {
			seen[fields[1]+" "+fields[2]] = true
		}
	}
	return len(seen), s.Err()
}

// hexAddr is addr:port as /proc/net/tcp prints it: the IPv4 address as
// a little-endian hex word, the port in hex.
func hexAddr(addr string, port int) string {
	var a [4]byte
	fmt.Sscanf(addr, "%d.%d.%d.%d", &a[0], &a[1], &a[2], &a[3])
	return fmt.Sprintf("%02X%02X%02X%02X:%04X", a[3], a[2], a[1], a[0], port)
}

// StartsRefused counts the connections the bastion's sshd has dropped
// past MaxStartups since it started, from its log.
func (b Bastion) StartsRefused() (int, error) {
	log, err := os.ReadFile(b.LogFile())
	if err != nil {
		return 0, fmt.Errorf("lab: bastion log: %w", err)
	}
	return bytes.Count(log, []byte("past MaxStartups")), nil
}

// RequireBastion returns the lab's bastion, bringing the lab up (as
// Require does) when the bastion is not running; a bastion that cannot be
// had fails the test under CI and skips it otherwise.
func (l *Lab) RequireBastion(t testing.TB) Bastion {
	t.Helper()
	if l.Bastion != nil {
		return *l.Bastion
	}
	requireMu.Lock()
	defer requireMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	up, err := Up(ctx, Options{Dir: l.Dir, Hosts: len(l.Hosts), Log: testLog{t}})
	if err == nil && up.Bastion == nil {
		err = errors.New("Up made no bastion")
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("lab: bastion: %v", err)
		}
		t.Skipf("lab bastion unavailable (set CI to make this a failure): %v", err)
	}
	l.Bastion = up.Bastion
	return *l.Bastion
}

// alive checks the bastion's namespace and sshd without connecting.
func (b Bastion) alive() error {
	if _, err := os.Stat("/run/netns/" + bastionNetns); err != nil {
		return errors.New("network namespace missing")
	}
	if !pidAlive(filepath.Join(b.dir, "sshd.pid")) {
		return errors.New("sshd not running")
	}
	return nil
}

// startBastion makes the bastion's namespace, routes and sshd, unless
// they run, and waits until it answers over SSH.
func startBastion(ctx context.Context, opts Options, l *Lab) error {
	b := l.bastion()
	config := filepath.Join(b.dir, "sshd_config")
	if b.alive() == nil {
		if old, err := os.ReadFile(config); err == nil && string(old) == bastionSSHDConfig(l, b) {
			opts.logf("%s %s: already up", b.Name, b.Addr)
			return nil
		}
		// A lab made with another config: sshd reads it again on SIGHUP.
		if err := os.WriteFile(config, []byte(bastionSSHDConfig(l, b)), 0o644); err != nil {
			return err
		}
		if err := syscall.Kill(readPid(filepath.Join(b.dir, "sshd.pid")), syscall.SIGHUP); err != nil {
			return fmt.Errorf("lab: %s: reload sshd: %w", b.Name, err)
		}
		opts.logf("%s %s: sshd reloaded with its new config", b.Name, b.Addr)
		return waitBastion(ctx, b)
	}
	start := time.Now()
	stopBastion(b.dir)
	steps := [][]string{
		{"ip", "netns", "add", bastionNetns},
		{"ip", "link", "add", bastionVeth + "r", "type", "veth", "peer", "name", bastionVeth + "n"},
		{"ip", "link", "set", bastionVeth + "n", "netns", bastionNetns},
		{"ip", "addr", "add", bastionGateway + "/24", "dev", bastionVeth + "r"},
		{"ip", "link", "set", bastionVeth + "r", "up"},
		{"ip", "-n", bastionNetns, "addr", "add", b.Addr + "/24", "dev", bastionVeth + "n"},
		{"ip", "-n", bastionNetns, "link", "set", bastionVeth + "n", "up"},
		{"ip", "-n", bastionNetns, "link", "set", "lo", "up"},
		// The hosts behind it, as routeBetweenHosts gives each host.
		{"ip", "-n", bastionNetns, "route", "replace", addressPrefix + "0.0/16", "via", bastionGateway, "dev", bastionVeth + "n"},
	}
	for _, s := range steps {
		if out, err := exec.CommandContext(ctx, s[0], s[1:]...).CombinedOutput(); err != nil {
			return fmt.Errorf("lab: %s: %s: %w: %s", b.Name, strings.Join(s, " "), err, bytes.TrimSpace(out))
		}
	}
	if err := os.WriteFile("/proc/sys/net/ipv4/conf/"+bastionVeth+"r/forwarding", []byte("1\n"), 0o644); err != nil {
		return fmt.Errorf("lab: %s: forwarding on %sr: %w", b.Name, bastionVeth, err)
	}
	if err := os.WriteFile(config, []byte(bastionSSHDConfig(l, b)), 0o644); err != nil {
		return err
	}
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		return err
	}
	sshd := exec.CommandContext(ctx, "nsenter", "--net=/run/netns/"+bastionNetns,
		"/usr/sbin/sshd", "-f", config, "-E", b.LogFile())
	if out, err := sshd.CombinedOutput(); err != nil { // sshd forks and writes its pid file
		return fmt.Errorf("lab: %s: start sshd: %w: %s", b.Name, err, bytes.TrimSpace(out))
	}
	if err := waitBastion(ctx, b); err != nil {
		return err
	}
	opts.logf("%s %s: namespace and sshd (MaxStartups %d) up in %s", b.Name, b.Addr, BastionMaxStartups, since(start))
	return nil
}

// waitBastion waits until the bastion answers over SSH.
func waitBastion(ctx context.Context, b Bastion) error {
	if err := waitFor(ctx, 30*time.Second, func() error {
		c, err := ssh.Dial(ctx, b.SSHConfig())
		if err != nil {
			return err
		}
		return c.Close()
	}); err != nil {
		return fmt.Errorf("lab: %s did not answer over SSH: %w (see %s)", b.Name, err, b.LogFile())
	}
	return nil
}

func bastionSSHDConfig(l *Lab, b Bastion) string {
	return fmt.Sprintf(`# Lab bastion: key auth only, a jump host to the lab's hosts.
ListenAddress %s
Port %d
HostKey %s
PidFile %s
AuthorizedKeysFile %s
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
AllowTcpForwarding yes
StrictModes no
# %d connections not yet logged in, and every one past them dropped.
MaxStartups %d
# One session a connection: the hosts' channels through it are forwards,
# which MaxSessions does not count.
MaxSessions 1
# VERBOSE logs each start dropped past MaxStartups (see StartsRefused).
LogLevel VERBOSE
`, b.Addr, b.Port, filepath.Join(b.dir, "ssh_host_ed25519_key"), filepath.Join(b.dir, "sshd.pid"),
		filepath.Join(l.Dir, "authorized_keys"), BastionMaxStartups, BastionMaxStartups)
}

// stopBastion ends the bastion's sshd (and its sessions) and removes its
// network, leaving its directory (and host key) for a restart.
func stopBastion(bdir string) {
	stopPid(readPid(filepath.Join(bdir, "sshd.pid")), 5*time.Second)
	for _, pid := range strays(bdir, bastionNetns) {
		stopPid(pid, 2*time.Second)
	}
	exec.Command("ip", "netns", "del", bastionNetns).Run()
	exec.Command("ip", "link", "del", bastionVeth+"r").Run()
	os.Remove(filepath.Join(bdir, "sshd.pid"))
}

// Bastion describes the bastion of the lab in opts.Dir, whether or not
// it runs: its address and paths are fixed.
func (o Options) Bastion() Bastion {
	dir := o.dir()
	l := &Lab{Dir: dir, KeyFile: filepath.Join(dir, "id_ed25519"), KnownHosts: filepath.Join(dir, "known_hosts")}
	return l.bastion()
}
