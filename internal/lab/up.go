package lab

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
	"golang.org/x/sync/errgroup"
)

// Packages are the Debian packages the lab runs on.
var Packages = []string{"docker.io", "openssh-server", "iproute2"}

// Up brings the lab to opts.Hosts running hosts and returns it. It is
// idempotent: hosts that already run are kept, broken ones are rebuilt,
// and images a host already holds are not loaded again.
func Up(ctx context.Context, opts Options) (*Lab, error) {
	start := time.Now()
	if opts.Hosts > MaxHosts {
		return nil, fmt.Errorf("lab: %d hosts asked for; the lab makes at most MaxHosts (%d)", opts.Hosts, MaxHosts)
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("lab: bringing the lab up needs root (network namespaces, dockerd, sshd)")
	}
	pkgStart := time.Now()
	installed, err := ensurePackages(ctx, opts)
	if err != nil {
		return nil, err
	}
	packages := time.Since(pkgStart)
	dir := opts.dir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	defer unlock()

	l := &Lab{Dir: dir, KeyFile: filepath.Join(dir, "id_ed25519"), KnownHosts: filepath.Join(dir, "known_hosts")}
	if err := ensureClientKey(l.KeyFile); err != nil {
		return nil, fmt.Errorf("lab: client key: %w", err)
	}
	n := opts.hosts()
	if existing := hostIndexes(dir); len(existing) > 0 && existing[len(existing)-1] > n {
		n = existing[len(existing)-1] // never shrink a lab another test may be using
	}
	for i := 1; i <= n; i++ {
		l.Hosts = append(l.Hosts, l.host(i))
	}
	if err := writeHostKeys(l); err != nil {
		return nil, fmt.Errorf("lab: host keys: %w", err)
	}

	var images map[string]string
	var building time.Duration
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(hostStarts + 1) // and the image builds
	g.Go(func() error {
		start := time.Now()
		var err error
		images, err = buildImages(gctx, opts, dir)
		building = time.Since(start)
		return err
	})
	g.Go(func() error { return startBastion(gctx, opts, l) })
	for i, h := range l.Hosts {
		g.Go(func() error {
			if err := startHost(gctx, opts, l, i+1, h); err != nil {
				return err
			}
			return routeBetweenHosts(gctx, i+1, h)
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}

	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(hostStarts)
	for _, h := range l.Hosts {
		g.Go(func() error { return readyHost(gctx, opts, h, filepath.Join(dir, "images.tar"), images) })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	b := l.bastion()
	l.Bastion = &b
	opts.logf("up: %d hosts and the bastion in %s (%s; dir %s)", len(l.Hosts), since(start), upSummary(installed, packages, building), dir)
	return l, nil
}

// hostStarts is how many hosts Up starts at once: thirty dockerds
// starting together on two cores would each take long enough to look hung.
const hostStarts = 8

// upSummary is where Up's time went, for its last line: the package
// install (when there was one) and the image builds, which run while the
// hosts start.
func upSummary(installed bool, packages, building time.Duration) string {
	round := func(d time.Duration) string { return d.Round(10 * time.Millisecond).String() }
	s := "images built in " + round(building) + " beside the hosts"
	if installed {
		s = "packages installed in " + round(packages) + ", " + s
	}
	return s
}

// ensurePackages installs the Packages whose programs are missing, and
// reports whether it installed any.
func ensurePackages(ctx context.Context, opts Options) (bool, error) {
	var missing []string
	for bin, pkg := range map[string]string{"dockerd": "docker.io", "sshd": "openssh-server", "ip": "iproute2"} {
		if _, err := exec.LookPath(bin); err != nil {
			if _, err := os.Stat("/usr/sbin/" + bin); err != nil {
				missing = append(missing, pkg)
			}
		}
	}
	if len(missing) == 0 {
		return false, nil
	}
	start := time.Now()
	opts.logf("installing %s (Debian packages the lab runs on)", strings.Join(missing, " "))
	env := append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	for _, args := range [][]string{{"update", "-qq"}, append([]string{"install", "-y", "-qq"}, Packages...)} {
		st := opts.begin("apt-get " + strings.Join(args, " "))
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		st.end("done", err)
		if err != nil {
			return false, fmt.Errorf("lab: apt-get %s: %w\n%s", args[0], err, lastLines(out, 20))
		}
	}
	opts.logf("installed %s in %s", strings.Join(missing, " "), since(start))
	return true, nil
}

// lockDir serialises Up and Down across processes (go test runs packages
// in parallel, and each may ask for the lab).
func lockDir(dir string) (func(), error) {
	f, err := os.OpenFile(dir+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lab: lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lab: lock: %w", err)
	}
	return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

func ensureClientKey(path string) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	pub, err := writeKey(path)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(filepath.Dir(path), "authorized_keys"), gossh.MarshalAuthorizedKey(pub), 0o600)
}

// writeKey writes a new ed25519 private key in OpenSSH format.
func writeKey(path string) (gossh.PublicKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	block, err := gossh.MarshalPrivateKey(priv, "")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return nil, err
	}
	signer, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		return nil, err
	}
	return signer.PublicKey(), nil
}

// writeHostKeys makes each host's key, and the bastion's, once (a rebuilt
// host keeps its key, like a rebooted server) and records them all in the
// lab's known_hosts.
func writeHostKeys(l *Lab) error {
	type keyed struct{ addr, dir string }
	var all []keyed
	for _, h := range l.Hosts {
		all = append(all, keyed{h.Addr, h.dir})
	}
	b := l.bastion()
	all = append(all, keyed{b.Addr, b.dir})
	var lines []string
	for _, h := range all {
		if err := os.MkdirAll(h.dir, 0o755); err != nil {
			return err
		}
		keyPath := filepath.Join(h.dir, "ssh_host_ed25519_key")
		if _, err := os.Stat(keyPath); err != nil {
			if _, err := writeKey(keyPath); err != nil {
				return err
			}
		}
		pem, err := os.ReadFile(keyPath)
		if err != nil {
			return err
		}
		signer, err := gossh.ParsePrivateKey(pem)
		if err != nil {
			return err
		}
		lines = append(lines, knownhosts.Line([]string{h.addr}, signer.PublicKey()))
	}
	// Tests of other packages read known_hosts while this process brings
	// hosts up: never truncate it under them. Unchanged, it is left as
	// is; changed, the new file is renamed over the old one.
	content := []byte(strings.Join(lines, "\n") + "\n")
	if old, err := os.ReadFile(l.KnownHosts); err == nil && bytes.Equal(old, content) {
		return nil
	}
	tmp := l.KnownHosts + ".new"
	if err := os.WriteFile(tmp, content, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, l.KnownHosts)
}

// startHost makes host i's namespace, sshd and dockerd, unless they run.
func startHost(ctx context.Context, opts Options, l *Lab, i int, h Host) error {
	if h.alive() == nil {
		opts.logf("%s %s: already up", h.Name, h.Addr)
		return nil
	}
	opts.logf("%s %s: starting namespace, sshd and dockerd ...", h.Name, h.Addr)
	start := time.Now()
	stopHost(opts, i, h.dir) // clear what is left of a broken host
	ns, veth := netns(i), "slw"+h.Name[1:]
	steps := [][]string{
		{"ip", "netns", "add", ns},
		{"ip", "link", "add", veth + "r", "type", "veth", "peer", "name", veth + "n"},
		{"ip", "link", "set", veth + "n", "netns", ns},
		{"ip", "addr", "add", gateway(i) + "/24", "dev", veth + "r"},
		{"ip", "link", "set", veth + "r", "up"},
		{"ip", "-n", ns, "addr", "add", h.Addr + "/24", "dev", veth + "n"},
		{"ip", "-n", ns, "link", "set", veth + "n", "up"},
		{"ip", "-n", ns, "link", "set", "lo", "up"},
	}
	for _, s := range steps {
		if out, err := exec.CommandContext(ctx, s[0], s[1:]...).CombinedOutput(); err != nil {
			return fmt.Errorf("lab: %s: %s: %w: %s", h.Name, strings.Join(s, " "), err, bytes.TrimSpace(out))
		}
	}

	if err := os.WriteFile(filepath.Join(h.dir, "sshd_config"), []byte(sshdConfig(l, h)), 0o644); err != nil {
		return err
	}
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		return err
	}
	// Each host gets a home of its own, as separate servers have: sshd runs
	// in a private mount namespace with the host's directory over /root,
	// so a lock or audit log written over SSH stays on its host.
	home := filepath.Join(h.dir, "root")
	if err := os.MkdirAll(home, 0o700); err != nil {
		return err
	}
	script := fmt.Sprintf("mount --bind %s /root && exec /usr/sbin/sshd -f %s -E %s",
		home, filepath.Join(h.dir, "sshd_config"), filepath.Join(h.dir, "sshd.log"))
	sshd := exec.CommandContext(ctx, "nsenter", "--net=/run/netns/"+ns, "unshare", "--mount", "--propagation", "private", "sh", "-c", script)
	if out, err := sshd.CombinedOutput(); err != nil { // sshd forks and writes its pid file
		return fmt.Errorf("lab: %s: start sshd: %w: %s", h.Name, err, bytes.TrimSpace(out))
	}

	if err := startDockerd(i, h); err != nil {
		return err
	}
	if err := waitFor(ctx, 60*time.Second, func() error {
		e, err := h.localEngine(ctx)
		if err != nil {
			return err
		}
		return e.Close()
	}); err != nil {
		return fmt.Errorf("lab: %s: dockerd did not answer: %w (see %s)", h.Name, err, filepath.Join(h.dir, "dockerd.log"))
	}
	opts.logf("%s %s: namespace, sshd and dockerd up in %s", h.Name, h.Addr, since(start))
	return nil
}

// routeBetweenHosts lets host i reach the other lab hosts, as servers on
// one private network reach each other (a load balancer its web hosts, a
// bastion the hosts behind it): the host routes the lab's addresses
// through its gateway, and the root namespace forwards what arrives on
// the host's veth. Forwarding is turned on for the lab's veths only
// (net.ipv4.conf.<veth>.forwarding), never machine-wide, and goes with
// them at Down. It is idempotent, so a lab made before it gains it.
func routeBetweenHosts(ctx context.Context, i int, h Host) error {
	veth := "slw" + strconv.Itoa(i)
	if err := os.WriteFile("/proc/sys/net/ipv4/conf/"+veth+"r/forwarding", []byte("1\n"), 0o644); err != nil {
		return fmt.Errorf("lab: %s: forwarding on %sr: %w", h.Name, veth, err)
	}
	route := []string{"ip", "-n", netns(i), "route", "replace", addressPrefix + "0.0/16", "via", gateway(i), "dev", veth + "n"}
	if out, err := exec.CommandContext(ctx, route[0], route[1:]...).CombinedOutput(); err != nil {
		return fmt.Errorf("lab: %s: %s: %w: %s", h.Name, strings.Join(route, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

func sshdConfig(l *Lab, h Host) string {
	return fmt.Sprintf(`# Lab host %s: key auth only, forwarding on for the Docker API.
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
AllowStreamLocalForwarding yes
AllowTcpForwarding yes
StrictModes no
MaxSessions 100
MaxStartups 200
LogLevel ERROR
`, h.Name, h.Addr, h.Port, filepath.Join(h.dir, "ssh_host_ed25519_key"), filepath.Join(h.dir, "sshd.pid"),
		filepath.Join(l.Dir, "authorized_keys"))
}

func startDockerd(i int, h Host) error {
	// The lab registry (see StartRegistry) speaks plain HTTP.
	daemonJSON := fmt.Sprintf("{\"insecure-registries\": [%q]}\n", RegistryAddr)
	if err := os.WriteFile(filepath.Join(h.dir, "daemon.json"), []byte(daemonJSON), 0o644); err != nil {
		return err
	}
	ns := netns(i)
	// dockerd writes its own pid file.
	cmd := exec.Command("nsenter", "--net=/run/netns/"+ns, "dockerd",
		"--host", "unix://"+h.DockerSocket,
		"--config-file", filepath.Join(h.dir, "daemon.json"),
		"--data-root", filepath.Join(h.dir, "docker"),
		"--exec-root", filepath.Join(h.dir, "x"),
		"--pidfile", filepath.Join(h.dir, "dockerd.pid"),
		"--containerd-namespace", ns,
		"--containerd-plugins-namespace", ns+"p",
		"--log-level", "warn",
	)
	if err := startDaemon(cmd, filepath.Join(h.dir, "dockerd.log"), ""); err != nil {
		return fmt.Errorf("lab: %s: start dockerd: %w", h.Name, err)
	}
	return nil
}

// readyHost waits until the host answers over SSH, with its engine behind
// it, and loads the images it lacks.
func readyHost(ctx context.Context, opts Options, h Host, archive string, images map[string]string) error {
	start := time.Now()
	if err := waitFor(ctx, 30*time.Second, func() error {
		c, e, err := h.Connect(ctx)
		if err != nil {
			return err
		}
		e.Close()
		return c.Close()
	}); err != nil {
		return fmt.Errorf("lab: %s did not answer over SSH: %w", h.Name, err)
	}
	e, err := h.localEngine(ctx)
	if err != nil {
		return err
	}
	defer e.Close()
	missing := false
	for tag, id := range images {
		img, err := e.ImageInspect(ctx, tag)
		if err != nil || img.ID != id {
			missing = true
		}
	}
	if !missing {
		opts.logf("%s: ready over SSH, images present (%s)", h.Name, since(start))
		return nil
	}
	f, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := e.ImageLoad(ctx, f); err != nil {
		return fmt.Errorf("lab: %s: load images: %w", h.Name, err)
	}
	opts.logf("%s: ready over SSH, images loaded (%s)", h.Name, since(start))
	return nil
}

func waitFor(ctx context.Context, limit time.Duration, try func() error) error {
	deadline := time.Now().Add(limit)
	for {
		err := try()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// buildImages compiles kamal-proxy and the test app as static binaries and
// writes their images to dir/images.tar. It returns each tag's image ID.
func buildImages(ctx context.Context, opts Options, dir string) (map[string]string, error) {
	start := time.Now()
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return nil, err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(hostStarts + 1) // and the image builds
	g.Go(func() error {
		st := opts.begin("build kamal-proxy " + proxyVersion + " (from the Go module proxy)")
		err := buildModuleBinary(gctx, proxyModule, proxyVersion, "./cmd/kamal-proxy", filepath.Join(bin, "kamal-proxy"), nil)
		st.end("built", err)
		return err
	})
	g.Go(func() error {
		st := opts.begin("build the test app")
		err := goBuild(gctx, "", filepath.Join(bin, "testapp"), "github.com/slipwayhq/slipway/internal/lab/testapp")
		st.end("built", err)
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	images := opts.begin("assemble the kamal-proxy and test app images")

	proxy, err := scratchImage([]file{
		{Path: "/usr/local/bin/kamal-proxy", Mode: 0o755, Src: filepath.Join(bin, "kamal-proxy")},
		{Path: "/tmp", Mode: 0o1777, Dir: true},
		{Path: "/home", Mode: 0o755, Dir: true},
		{Path: "/home/kamal-proxy", Mode: 0o755, Dir: true},
		{Path: "/home/kamal-proxy/.config", Mode: 0o755, Dir: true},
		{Path: "/home/kamal-proxy/.config/kamal-proxy", Mode: 0o755, Dir: true},
	}, v1.Config{
		Env:          []string{"PATH=/usr/local/bin", "HOME=/home/kamal-proxy", "XDG_RUNTIME_DIR=/tmp"},
		Cmd:          []string{"kamal-proxy", "run"},
		ExposedPorts: map[string]struct{}{"80/tcp": {}, "443/tcp": {}},
		WorkingDir:   "/home/kamal-proxy",
	})
	if err != nil {
		return nil, fmt.Errorf("lab: kamal-proxy image: %w", err)
	}
	imgs := map[string]v1.Image{ProxyImage: proxy}
	for _, v := range TestAppVersions {
		img, err := scratchImage([]file{
			{Path: "/testapp", Mode: 0o755, Src: filepath.Join(bin, "testapp")},
			{Path: "/tmp", Mode: 0o1777, Dir: true},
		}, v1.Config{
			Entrypoint:   []string{"/testapp"},
			Env:          []string{"APP_VERSION=" + v, "PORT=3000"},
			ExposedPorts: map[string]struct{}{"3000/tcp": {}},
			Labels:       map[string]string{"org.opencontainers.image.version": v},
		})
		if err != nil {
			return nil, fmt.Errorf("lab: test app image: %w", err)
		}
		imgs[TestAppImage+":"+v] = img
	}

	ids := map[string]string{}
	for tag, img := range imgs {
		id, err := img.ConfigName()
		if err != nil {
			return nil, err
		}
		ids[tag] = id.String()
	}
	f, err := os.Create(filepath.Join(dir, "images.tar"))
	if err != nil {
		return nil, err
	}
	if err := writeArchive(f, imgs); err != nil {
		f.Close()
		images.end("", err)
		return nil, fmt.Errorf("lab: write images: %w", err)
	}
	if err := f.Close(); err != nil {
		images.end("", err)
		return nil, err
	}
	images.end(fmt.Sprintf("%d images written", len(imgs)), nil)
	opts.logf("built kamal-proxy %s and the test app images in %s", proxyVersion, since(start))
	return ids, nil
}

func goBuild(ctx context.Context, dir, out, pkg string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOWORK=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("lab: go build %s: %w\n%s", pkg, err, lastLines(b, 20))
	}
	return nil
}

func stderrOf(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(bytes.TrimSpace(ee.Stderr))
	}
	return ""
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
