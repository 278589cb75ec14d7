package lab

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The S3-compatible server of the lab, and the Litestream release the
// replicate package is tested against.
const (
	versityModule     = "github.com/versity/versitygw"
	versityVersion    = "v1.8.0"
	litestreamModule  = "github.com/benbjohnson/litestream"
	LitestreamVersion = "v0.5.18"
	// S3Region is the region the lab's S3 server answers for.
	S3Region = "us-east-1"
)

// S3 is the lab's S3-compatible server: versitygw with its posix backend,
// listening on 127.0.0.1 and on the root side of every lab host's veth,
// so a container on a lab host reaches it too.
type S3 struct {
	// Endpoint is the server's URL from this machine.
	Endpoint string
	// Port is the port it listens on at every address.
	Port int
	// AccessKeyID and SecretAccessKey are the root credentials. They are
	// test values, yet are kept out of output like real ones.
	AccessKeyID, SecretAccessKey string
	// Dir is the posix backend's root: one directory per bucket.
	Dir string

	hosts []string
}

// HostEndpoint is the server's URL as seen from lab host h.
func (s *S3) HostEndpoint(h Host) string {
	i, _ := strconv.Atoi(strings.TrimPrefix(h.Name, "h"))
	return "http://" + net.JoinHostPort(gateway(i), strconv.Itoa(s.Port))
}

// Env returns the credentials as the environment Slipway's default
// secret names read (LITESTREAM_ACCESS_KEY_ID, LITESTREAM_SECRET_ACCESS_KEY).
func (s *S3) Env() []string {
	return []string{"LITESTREAM_ACCESS_KEY_ID=" + s.AccessKeyID, "LITESTREAM_SECRET_ACCESS_KEY=" + s.SecretAccessKey}
}

// Bucket makes a bucket of a fresh name (prefix plus random suffix) and
// returns the name; the bucket goes when the test ends. With the posix backend a bucket is a top-level
// directory of Dir.
func (s *S3) Bucket(t testing.TB, prefix string) string {
	t.Helper()
	name := prefix + "-" + randomHex(4)
	if err := os.Mkdir(filepath.Join(s.Dir, name), 0o755); err != nil {
		t.Fatalf("lab: s3 bucket %s: %v", name, err)
	}
	t.Cleanup(func() { os.RemoveAll(filepath.Join(s.Dir, name)) })
	return name
}

type s3State struct {
	Port   int      `json:"port"`
	ID     string   `json:"id"`
	Secret string   `json:"secret"`
	Hosts  []string `json:"hosts"`
}

// StartS3 builds versitygw from the module proxy when needed and starts
// it, unless it already runs on the addresses of every lab host in dir.
// It is idempotent; Down stops it.
func StartS3(ctx context.Context, opts Options) (*S3, error) {
	dir := opts.dir()
	sdir := filepath.Join(dir, "s3")
	if err := os.MkdirAll(filepath.Join(sdir, "data"), 0o755); err != nil {
		return nil, fmt.Errorf("lab: s3: %w", err)
	}
	unlock, err := lockDir(sdir)
	if err != nil {
		return nil, err
	}
	defer unlock()

	var hosts []string
	for _, i := range hostIndexes(dir) {
		if _, err := os.Stat("/run/netns/" + netns(i)); err == nil {
			hosts = append(hosts, gateway(i))
		}
	}
	var st s3State
	if b, err := os.ReadFile(filepath.Join(sdir, "state.json")); err == nil {
		json.Unmarshal(b, &st)
	}
	pidfile := filepath.Join(sdir, "versitygw.pid")
	if pidAlive(pidfile) && st.Port != 0 && sameSet(st.Hosts, hosts) {
		s := st.s3(sdir)
		opts.logf("s3: versitygw already on %s", s.Endpoint)
		return s, writeSecrets(dir, s)
	}
	stopPid(readPid(pidfile), 5*time.Second)

	bin := filepath.Join(dir, "bin", "versitygw")
	if _, err := os.Stat(bin); err != nil {
		st := opts.begin("build the S3 server, versitygw " + versityVersion + " (from the Go module proxy)")
		err := buildModuleBinary(ctx, versityModule, versityVersion, "./cmd/versitygw", bin, nil)
		st.end("built", err)
		if err != nil {
			return nil, err
		}
	}
	if st.ID == "" {
		st.ID, st.Secret = "slw"+randomHex(8), randomHex(20)
	}
	if st.Port == 0 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("lab: s3: pick a port: %w", err)
		}
		st.Port = l.Addr().(*net.TCPAddr).Port
		l.Close()
	}
	st.Hosts = hosts
	b, _ := json.Marshal(st)
	if err := os.WriteFile(filepath.Join(sdir, "state.json"), b, 0o600); err != nil {
		return nil, fmt.Errorf("lab: s3: %w", err)
	}

	args := []string{"--port", "127.0.0.1:" + strconv.Itoa(st.Port), "--quiet"}
	for _, a := range hosts {
		args = append(args, "--port", net.JoinHostPort(a, strconv.Itoa(st.Port)))
	}
	args = append(args, "posix", filepath.Join(sdir, "data"))
	cmd := exec.Command(bin, args...)
	// Credentials go by environment, not argv, so ps does not show them.
	if err := startDaemon(cmd, filepath.Join(sdir, "versitygw.log"), pidfile,
		"ROOT_ACCESS_KEY_ID="+st.ID, "ROOT_SECRET_ACCESS_KEY="+st.Secret); err != nil {
		return nil, fmt.Errorf("lab: s3: start versitygw: %w", err)
	}
	s := st.s3(sdir)
	if err := waitFor(ctx, 20*time.Second, func() error {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(st.Port), time.Second)
		if err == nil {
			c.Close()
		}
		return err
	}); err != nil {
		return nil, fmt.Errorf("lab: s3: versitygw did not listen: %w (see %s)", err, filepath.Join(sdir, "versitygw.log"))
	}
	opts.logf("s3: versitygw on %s and %d lab host gateways", s.Endpoint, len(hosts))
	if err := writeSecrets(dir, s); err != nil {
		return nil, err
	}
	return s, nil
}

// SecretsFile is the dotenv file, in the lab's directory, that holds the
// lab S3 server's credentials under the names Litestream reads: the
// lab's stand-in for a team's .slipway/secrets.
func SecretsFile(opts Options) string { return filepath.Join(opts.dir(), "secrets") }

func writeSecrets(dir string, s *S3) error {
	body := fmt.Sprintf("# The lab S3 server's credentials (lab:down removes them).\nLITESTREAM_ACCESS_KEY_ID=%s\nLITESTREAM_SECRET_ACCESS_KEY=%s\n",
		s.AccessKeyID, s.SecretAccessKey)
	if err := os.WriteFile(filepath.Join(dir, "secrets"), []byte(body), 0o600); err != nil {
		return fmt.Errorf("lab: s3: write secrets: %w", err)
	}
	return nil
}

// OpenS3 describes the lab's S3 server as it runs now, without starting it.
func OpenS3(opts Options) (*S3, error) {
	sdir := filepath.Join(opts.dir(), "s3")
	b, err := os.ReadFile(filepath.Join(sdir, "state.json"))
	if err != nil || !pidAlive(filepath.Join(sdir, "versitygw.pid")) {
		return nil, fmt.Errorf("the lab's S3 server is not running: run `go run mage.go lab:up` as root")
	}
	var st s3State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("lab: s3: %w", err)
	}
	return st.s3(sdir), nil
}

func (st s3State) s3(sdir string) *S3 {
	return &S3{
		Endpoint: "http://127.0.0.1:" + strconv.Itoa(st.Port), Port: st.Port,
		AccessKeyID: st.ID, SecretAccessKey: st.Secret,
		Dir: filepath.Join(sdir, "data"), hosts: st.Hosts,
	}
}

// stopS3 stops the lab's S3 server, if it runs.
func stopS3(dir string) {
	stopPid(readPid(filepath.Join(dir, "s3", "versitygw.pid")), 5*time.Second)
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]bool{}
	for _, x := range a {
		seen[x] = true
	}
	for _, x := range b {
		if !seen[x] {
			return false
		}
	}
	return true
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// RequireS3 returns the lab's S3 server, starting it (and the lab's hosts,
// whose gateways it also listens on) when needed. Like Require, it skips
// the test when the lab cannot be had, or fails it under CI.
func RequireS3(t testing.TB) *S3 {
	t.Helper()
	Require(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	s, err := StartS3(ctx, Options{Log: testLog{t}})
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("lab: %v", err)
		}
		t.Skipf("lab S3 unavailable (set CI to make this a failure): %v", err)
	}
	return s
}

// LitestreamCLI returns the path of the litestream command built from the
// module proxy's copy of LitestreamVersion, building it once per lab.
func LitestreamCLI(t testing.TB) string {
	t.Helper()
	return buildOnce(t, litestreamTool)
}

// LitestreamConfigProbe returns the path of a litestream command built
// with one extra file: when SLIPWAY_PROBE_CONFIG names a litestream.yml,
// the command loads it with Litestream's own config loader (the one
// `litestream replicate` uses), builds every database and replica client
// from it and prints the settings they ended up with as JSON, then exits.
// A key Litestream ignores shows up as a missing setting.
func LitestreamConfigProbe(t testing.TB) string {
	t.Helper()
	return buildOnce(t, probeTool)
}

func buildOnce(t testing.TB, tl tool) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	bin, err := tl.build(ctx, Options{Log: testLog{t}})
	if err != nil {
		t.Fatalf("%v", err)
	}
	return bin
}

// probeSource is compiled into Litestream's own main package by
// LitestreamConfigProbe. It calls only Litestream's loader functions.
const probeSource = `package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/benbjohnson/litestream/file"
	"github.com/benbjohnson/litestream/s3"
)

func init() {
	path := os.Getenv("SLIPWAY_PROBE_CONFIG")
	if path == "" {
		return
	}
	config, err := ReadConfigFile(path, true)
	if err != nil {
		fmt.Fprintln(os.Stderr, "config:", err)
		os.Exit(2)
	}
	out := map[string]any{
		"snapshot-interval":  config.Snapshot.Interval.String(),
		"snapshot-retention": config.Snapshot.Retention.String(),
	}
	var dbs []map[string]any
	for _, dbc := range config.DBs {
		db, err := NewDBFromConfig(dbc)
		if err != nil {
			fmt.Fprintln(os.Stderr, "db:", err)
			os.Exit(2)
		}
		d := map[string]any{"path": db.Path(), "type": db.Replica.Client.Type(), "sync-interval": db.Replica.SyncInterval.String()}
		switch c := db.Replica.Client.(type) {
		case *s3.ReplicaClient:
			d["bucket"], d["path-in-bucket"], d["region"], d["endpoint"] = c.Bucket, c.Path, c.Region, c.Endpoint
			d["force-path-style"] = c.ForcePathStyle
			d["access-key-id-set"], d["secret-access-key-set"] = c.AccessKeyID != "", c.SecretAccessKey != ""
			d["access-key-id-matches"] = c.AccessKeyID == os.Getenv("SLIPWAY_PROBE_EXPECT_ID")
		case *file.ReplicaClient:
			d["dir"] = c.Path()
		}
		dbs = append(dbs, d)
	}
	out["dbs"] = dbs
	json.NewEncoder(os.Stdout).Encode(out)
	os.Exit(0)
}
`
