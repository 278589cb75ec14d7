package lab

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// The lab's registry: distribution's registry, built from the Go module.
const (
	registryModule  = "github.com/distribution/distribution/v3"
	registryVersion = "v3.1.2"
	registryPort    = "5000"
	// RegistryUser is the lab registry's only login.
	RegistryUser = "slipway"
)

// RegistryAddr is where the lab's registry listens, host:port: the root
// side of h1's veth pair, which every lab host routes to through its own
// gateway. Every lab engine treats it as an insecure (plain HTTP) registry.
var RegistryAddr = gateway(1) + ":" + registryPort

// Registry is the lab's running registry.
type Registry struct {
	// Addr is host:port, reachable from this machine and every lab host.
	Addr string
	// Username and Password are its login (htpasswd; anything else is refused).
	Username string
	Password string
}

// RequireRegistry returns the lab's registry, starting it when it does not
// run, with the same skip-or-fail rule as Require.
func RequireRegistry(t testing.TB, l *Lab) *Registry {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	r, err := StartRegistry(ctx, l, testLog{t})
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("lab registry: %v", err)
		}
		t.Skipf("lab registry unavailable (set CI to make this a failure): %v", err)
	}
	return r
}

// StartRegistry makes sure the lab's registry runs and that every lab host
// can pull from it: a route to its address in each host's namespace, and
// the address in each engine's insecure registries (the daemon reloads its
// configuration on SIGHUP; nothing restarts). It is idempotent and safe to
// call from several processes at once. Its files live in h1's directory,
// so that Down (and a rebuild of h1) stops it.
func StartRegistry(ctx context.Context, l *Lab, log interface{ Write([]byte) (int, error) }) (*Registry, error) {
	opts := Options{Dir: l.Dir, Log: log}
	if len(l.Hosts) == 0 {
		return nil, errors.New("lab: the registry needs at least one lab host")
	}
	dir := filepath.Join(l.Dir, hostName(1), "registry")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	defer unlock()

	for i, h := range l.Hosts {
		if err := reachRegistry(ctx, i+1, h); err != nil {
			return nil, err
		}
	}
	r := &Registry{Addr: RegistryAddr, Username: RegistryUser}
	pidfile := filepath.Join(dir, "registry.pid")
	if pidAlive(pidfile) && registryAnswers(ctx, r.Addr) == nil {
		pw, err := os.ReadFile(filepath.Join(dir, "password"))
		if err == nil {
			r.Password = strings.TrimSpace(string(pw))
			return r, nil
		}
	}
	stopPid(readPid(pidfile), 5*time.Second)

	start := time.Now()
	bin, err := registryTool.build(ctx, opts)
	if err != nil {
		return nil, err
	}
	secret := make([]byte, 16)
	rand.Read(secret)
	r.Password = hex.EncodeToString(secret)
	hash, err := bcrypt.GenerateFromPassword([]byte(r.Password), bcrypt.DefaultCost)
	if err != nil {
		return nil, err
	}
	files := map[string]string{
		"password": r.Password + "\n",
		"htpasswd": RegistryUser + ":" + string(hash) + "\n",
		"config.yml": fmt.Sprintf(`version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
auth:
  htpasswd:
    realm: slipway-lab
    path: %s
`, filepath.Join(dir, "data"), r.Addr, filepath.Join(dir, "htpasswd")),
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			return nil, err
		}
	}
	logPath := filepath.Join(dir, "registry.log")
	if err := startDaemon(exec.Command(bin, "serve", filepath.Join(dir, "config.yml")), logPath, pidfile,
		"OTEL_TRACES_EXPORTER=none"); err != nil {
		return nil, fmt.Errorf("lab: start registry: %w", err)
	}
	if err := waitFor(ctx, 20*time.Second, func() error { return registryAnswers(ctx, r.Addr) }); err != nil {
		return nil, fmt.Errorf("lab: registry did not answer at %s: %w (see %s)", r.Addr, err, logPath)
	}
	opts.logf("registry %s %s up at %s in %s", registryModule, registryVersion, r.Addr, since(start))
	return r, nil
}

// registryAnswers checks that a registry asking for a login listens at addr.
func registryAnswers(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/v2/", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		return fmt.Errorf("GET /v2/ answered %s, want 401", resp.Status)
	}
	return nil
}

// reachRegistry gives host i a route to the registry and puts the registry
// among its engine's insecure registries.
func reachRegistry(ctx context.Context, i int, h Host) error {
	if i != 1 {
		route := []string{"ip", "-n", netns(i), "route", "replace", gateway(1) + "/32", "via", gateway(i)}
		if out, err := exec.CommandContext(ctx, route[0], route[1:]...).CombinedOutput(); err != nil {
			return fmt.Errorf("lab: %s: %s: %w: %s", h.Name, strings.Join(route, " "), err, strings.TrimSpace(string(out)))
		}
	}
	path := filepath.Join(h.dir, "daemon.json")
	cfg := map[string]any{}
	if b, err := os.ReadFile(path); err == nil {
		json.Unmarshal(b, &cfg)
	}
	var insecure []string
	if list, ok := cfg["insecure-registries"].([]any); ok {
		for _, v := range list {
			if s, ok := v.(string); ok {
				insecure = append(insecure, s)
			}
		}
	}
	if slices.Contains(insecure, RegistryAddr) {
		return nil
	}
	cfg["insecure-registries"] = append(insecure, RegistryAddr)
	b, _ := json.MarshalIndent(cfg, "", "  ")
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return err
	}
	if pid := readPid(filepath.Join(h.dir, "dockerd.pid")); pid > 0 {
		syscall.Kill(pid, syscall.SIGHUP) // dockerd reloads insecure-registries live
		time.Sleep(200 * time.Millisecond)
	}
	return nil
}
