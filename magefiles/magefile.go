//go:build mage

// The project's own tasks. Run them with `go run mage.go <target>`;
// `go run mage.go -l` lists them.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/magefile/mage/mg"

	"github.com/slipwayhq/slipway/internal/lab"
)

// Lab brings the test lab up and down.
type Lab mg.Namespace

// Up starts the lab's hosts (network namespaces with sshd and dockerd) and its S3 server, installing missing packages as root; -hosts=N makes N hosts (default 3, at most 30; a lab never shrinks) and the memory they hold is printed.
func (Lab) Up(ctx context.Context, hosts *int) error {
	start := time.Now()
	n := 0
	if hosts != nil {
		n = *hosts
	}
	if n < 0 || n > lab.MaxHosts {
		return fmt.Errorf("lab:up -hosts=%d: give 1 to %d", n, lab.MaxHosts)
	}
	l, err := upLab(ctx, os.Stdout, n)
	if err != nil {
		return err
	}
	for _, h := range l.Hosts {
		fmt.Printf("  %s  ssh -i %s -o UserKnownHostsFile=%s root@%s\n", h.Name, l.KeyFile, l.KnownHosts, h.Addr)
	}
	if b := l.Bastion; b != nil {
		fmt.Printf("  %s  ssh -i %s -o UserKnownHostsFile=%s root@%s  (a jump host to every host; MaxStartups %d)\n",
			b.Name, b.KeyFile, b.KnownHosts, b.Addr, lab.BastionMaxStartups)
	}
	m := l.Memory()
	fmt.Printf("lab:up took %s; %d hosts hold %s in %d processes (%s a host)\n", time.Since(start).Round(10*time.Millisecond),
		len(l.Hosts), humanize.IBytes(m.PSS), m.Processes, humanize.IBytes(m.PerHost(len(l.Hosts))))
	return nil
}

// labUpDefault is lab:up with its default size, for targets that need
// the lab as a dependency (mg.CtxDeps takes no flags).
func labUpDefault(ctx context.Context) error { return Lab{}.Up(ctx, nil) }

// Down removes every trace of the lab: containers, daemons, mounts, namespaces, files.
func (Lab) Down(ctx context.Context) error {
	return lab.Down(ctx, lab.Options{Log: os.Stdout})
}

// Test brings the lab up with every host the suite uses (lab.SuiteHosts), builds the programs the tests compile from source beside it, and runs every test of every module of the repository (CI=true makes a missing lab part fail the run).
func Test(ctx context.Context) error {
	// The programs tests compile from source (the registry, Litestream)
	// build beside the lab's hosts, not in the middle of a test.
	tools := make(chan error, 1)
	go func() { tools <- lab.BuildTools(ctx, lab.Options{Log: os.Stdout}) }()
	mg.CtxDeps(ctx, labUpDefault)
	if _, err := lab.Up(ctx, lab.Options{Hosts: lab.SuiteHosts, Log: os.Stdout}); err != nil {
		return err
	}
	if err := <-tools; err != nil {
		return err
	}
	mods, err := modules()
	if err != nil {
		return err
	}
	// Every module's tests run even when one fails, so the log shows all.
	var failed []string
	for _, dir := range mods {
		if err := runIn(dir, "go", "test", "-count=1", "-timeout=40m", "./..."); err != nil {
			failed = append(failed, dir)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("tests failed in %s", strings.Join(failed, ", "))
	}
	return nil
}

// modules returns the directories of the repository's Go modules, the
// root first: the SDK, health/up (what apps import; a module with no
// requirements) and its tests' module, and the example app modules with
// their nested deployment modules. A module's ./... stops where a nested
// module starts, so Test and Lint run in each of them.
func modules() ([]string, error) {
	var mods []string
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "vendor") {
			return filepath.SkipDir // the go command ignores these too
		}
		if !d.IsDir() && d.Name() == "go.mod" {
			mods = append(mods, filepath.Dir(path))
		}
		return nil
	})
	slices.Sort(mods) // "." first, and each module before those nested in it
	return mods, err
}

// Lint checks formatting (gofmt), runs go vet and staticcheck, and checks
// the dependencies against the Go vulnerability database (govulncheck), in
// every module of the repository. Every check runs even when one fails;
// the tools run with `go run pkg@version`, so a fresh machine needs
// nothing installed.
func Lint(ctx context.Context) error {
	mods, err := modules()
	if err != nil {
		return err
	}
	type check struct {
		name string
		run  func(context.Context) error
	}
	checks := []check{{"gofmt", gofmt}} // gofmt -l . walks the nested modules too
	for _, dir := range mods {
		checks = append(checks,
			check{"go vet in " + dir, func(context.Context) error { return runIn(dir, "go", "vet", "./...") }},
			check{"staticcheck in " + dir, func(context.Context) error { return runIn(dir, "go", "run", staticcheck, "./...") }},
			check{"govulncheck in " + dir, func(ctx context.Context) error { return govulncheck(ctx, dir) }},
		)
	}
	var failed []string
	for _, c := range checks {
		if err := c.run(ctx); err != nil {
			fmt.Printf("lint: %s: %v\n", c.name, err)
			failed = append(failed, c.name)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("lint failed: %s", strings.Join(failed, ", "))
	}
	return nil
}

// The lint tools and the advisory database, pinned.
const (
	staticcheck = "honnef.co/go/tools/cmd/staticcheck@v0.8.2" // 2025.2+ understands Go 1.26
	govulnCmd   = "golang.org/x/vuln/cmd/govulncheck@v1.9.0"
	// vulnDB is the Go vulnerability database as the module proxy
	// serves it: its data/osv holds every advisory, which indexdb makes
	// into the database govulncheck reads. govulncheck's default database
	// cannot be reached from here; GOVULNDB names another one to use.
	// The version pins the advisories: move it on to take newer ones.
	vulnDB = "golang.org/x/vulndb@v0.0.0-20261105234957-e22db6528018"
)

func gofmt(context.Context) error {
	fmt.Println("> gofmt -l .")
	out, err := exec.Command("gofmt", "-l", ".").Output()
	if err != nil {
		return err
	}
	if files := strings.TrimSpace(string(out)); files != "" {
		return fmt.Errorf("gofmt needed on:\n%s", files)
	}
	return nil
}

// govulncheck fails on a vulnerability in a module the code of the module
// in dir calls. One in
// the standard library is printed but does not fail: its fix is a newer
// Go, which go.mod cannot bring. Without a database to read, it says so
// and skips.
func govulncheck(ctx context.Context, dir string) error {
	db := os.Getenv("GOVULNDB")
	if db == "" {
		dir, err := vulnDBDir(ctx)
		if err != nil {
			fmt.Printf("govulncheck: SKIPPED: no advisory database: %v\n", err)
			fmt.Println("  set GOVULNDB to a database (a URL, or file:///path) to check")
			return nil
		}
		db = "file://" + dir
	}
	args := []string{"run", govulnCmd, "-db", db, "-format", "json", "./..."}
	echo(dir, "go", args)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return err
	}
	findings, err := parseVulns(out)
	if err != nil {
		return err
	}
	var fail []string
	for _, f := range findings {
		fixed := f.fixed
		if fixed == "" {
			fixed = "no fixed version"
		} else {
			fixed = "fixed in " + fixed
		}
		fmt.Printf("  %s %s@%s (%s): %s\n    called at %s\n", f.id, f.module, f.version, fixed, f.summary, f.at)
		if f.module == "stdlib" {
			fmt.Printf("    in the standard library: upgrade Go (this is %s); not counted as a failure\n", runtime.Version())
			continue
		}
		fail = append(fail, f.id+" "+f.module)
	}
	if len(fail) > 0 {
		return fmt.Errorf("%d called %s in modules: %s", len(fail), plural(len(fail), "vulnerability", "vulnerabilities"), strings.Join(fail, ", "))
	}
	fmt.Printf("govulncheck: no called vulnerability in a module (%d in the standard library)\n", len(findings))
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// vulnDBDir builds the advisory database from the vulndb module once and
// keeps it in the user's cache, keyed by the module's version.
func vulnDBDir(ctx context.Context) (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	mod, version, _ := strings.Cut(vulnDB, "@")
	dir := filepath.Join(cache, "slipway", "vulndb-"+version)
	if _, err := os.Stat(filepath.Join(dir, "index", "modules.json")); err == nil {
		return dir, nil
	}
	out, err := exec.CommandContext(ctx, "go", "mod", "download", "-json", vulnDB).Output()
	var dl struct{ Dir, Error string }
	_ = json.Unmarshal(out, &dl)
	if err != nil || dl.Dir == "" {
		return "", fmt.Errorf("go mod download %s through the module proxy: %v %s", vulnDB, err, dl.Error)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "vulndb-*")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	db := filepath.Join(tmp, "db")
	if err := run("go", "run", mod+"/cmd/indexdb@"+version, "-vulns", filepath.Join(dl.Dir, "data", "osv"), "-out", db); err != nil {
		return "", fmt.Errorf("index %s: %w", vulnDB, err)
	}
	if err := os.Rename(db, dir); err != nil {
		return "", err
	}
	return dir, nil
}

// vuln is a vulnerability the code calls.
type vuln struct {
	id, module, version, fixed, summary, at string
}

// parseVulns reads govulncheck's JSON stream and keeps the findings the
// code calls (a trace down to a function), one per advisory.
func parseVulns(out []byte) ([]vuln, error) {
	type frame struct {
		Module, Version, Package, Function, Receiver string
		Position                                     *struct {
			Filename string
			Line     int
		}
	}
	var (
		found   []vuln
		seen    = map[string]bool{}
		summary = map[string]string{}
		dec     = json.NewDecoder(bytes.NewReader(out))
	)
	for {
		var msg struct {
			OSV *struct {
				ID      string
				Summary string
			}
			Finding *struct {
				OSV          string
				FixedVersion string `json:"fixed_version"`
				Trace        []frame
			}
		}
		if err := dec.Decode(&msg); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("read govulncheck's output: %w", err)
		}
		if msg.OSV != nil {
			summary[msg.OSV.ID] = msg.OSV.Summary
		}
		f := msg.Finding
		if f == nil || len(f.Trace) == 0 || f.Trace[0].Function == "" || seen[f.OSV] {
			continue
		}
		seen[f.OSV] = true
		v := vuln{id: f.OSV, module: f.Trace[0].Module, version: f.Trace[0].Version, fixed: f.FixedVersion}
		if last := f.Trace[len(f.Trace)-1]; last.Position != nil {
			v.at = fmt.Sprintf("%s:%d (%s)", last.Position.Filename, last.Position.Line, last.Function)
		}
		found = append(found, v)
	}
	for i := range found {
		found[i].summary = summary[found[i].id]
	}
	return found, nil
}

// Bench runs the benchmarks against the lab and prints their figures side by side.
func Bench(ctx context.Context) error {
	mg.CtxDeps(ctx, labUpDefault)
	// Each benchmark makes its own comparison inside one run; the counts
	// are what give stable figures for each.
	for _, b := range []struct{ dir, pkg, count string }{
		{".", "./deploy/engine/", "1x"},
		{".", "./deploy/", "5x"},
		{".", "./deploy/image/", "3x"},
		// health/up's Handler: its benchmark needs SQLite, so it lives in its tests' module.
		{"health/up/uptest", ".", "20000x"},
		{".", "./replicate/", "1x"},
	} {
		// BenchmarkFleet takes minutes: benchFleet runs it.
		if err := runIn(b.dir, "go", "test", "-run=^$", "-bench=.", "-skip=^BenchmarkFleet$", "-benchtime="+b.count, "-count=1", b.pkg); err != nil {
			return err
		}
	}
	return nil
}

// BenchFleet runs the fleet benchmark: Slipway's deploy to 1, 10 and 30 lab hosts in one batch, and to 30 hosts behind the lab's bastion, beside the engines' own floor and Kamal's remote command sequence, with their ratios (-sizes=1,10,22 and -jump=30 pick other host counts, -jump= none; -parallel=N sets Options.Parallel; about 20 minutes on a busy 2-core machine).
func BenchFleet(ctx context.Context, sizes, jump, parallel *string) error {
	args := []string{"test", "-run=^$", "-bench=^BenchmarkFleet$", "-benchtime=1x", "-count=1", "-timeout=90m", "./deploy/", "-args"}
	if sizes != nil {
		args = append(args, "-fleet.sizes="+*sizes)
	}
	if jump != nil {
		args = append(args, "-fleet.jump="+*jump)
	}
	if parallel != nil {
		args = append(args, "-fleet.parallel="+*parallel)
	}
	return run("go", args...)
}

func run(name string, args ...string) error { return runIn(".", name, args...) }

// runIn runs a command in dir (a module's directory), its output to ours.
func runIn(dir, name string, args ...string) error {
	echo(dir, name, args)
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	return cmd.Run()
}

// echo prints the command about to run, naming its module when not the root.
func echo(dir, name string, args []string) {
	if dir == "." {
		fmt.Println(">", name, strings.Join(args, " "))
		return
	}
	fmt.Printf("> (in %s) %s %s\n", dir, name, strings.Join(args, " "))
}
