//go:build mage

// The project's own tasks. Run them with `go run mage.go <target>`;
// `go run mage.go -l` lists them.
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/magefile/mage/mg"

	"github.com/slipwayhq/slipway/internal/lab"
)

// Lab brings the test lab up and down.
type Lab mg.Namespace

// Up starts the lab's hosts (network namespaces with sshd and dockerd) and its S3 server, installing missing packages as root.
func (Lab) Up(ctx context.Context) error {
	start := time.Now()
	l, err := upLab(ctx, os.Stdout)
	if err != nil {
		return err
	}
	for _, h := range l.Hosts {
		fmt.Printf("  %s  ssh -i %s -o UserKnownHostsFile=%s root@%s\n", h.Name, l.KeyFile, l.KnownHosts, h.Addr)
	}
	fmt.Printf("lab:up took %s\n", time.Since(start).Round(10*time.Millisecond))
	return nil
}

// Down removes every trace of the lab: containers, daemons, mounts, namespaces, files.
func (Lab) Down(ctx context.Context) error {
	return lab.Down(ctx, lab.Options{Log: os.Stdout})
}

// Test brings the lab up and runs every test (CI=true makes a missing lab part fail the run).
func Test(ctx context.Context) error {
	mg.CtxDeps(ctx, Lab.Up)
	return run("go", "test", "-count=1", "-timeout=40m", "./...")
}

// Lint checks formatting (gofmt) and runs go vet.
func Lint() error {
	out, err := exec.Command("gofmt", "-l", ".").Output()
	if err != nil {
		return err
	}
	if files := strings.TrimSpace(string(out)); files != "" {
		return fmt.Errorf("gofmt needed on:\n%s", files)
	}
	return run("go", "vet", "./...")
}

// Bench runs the benchmarks against the lab and prints their figures side by side.
func Bench(ctx context.Context) error {
	mg.CtxDeps(ctx, Lab.Up)
	// Each benchmark makes its own comparison inside one run; the counts
	// are what give stable figures for each.
	for _, b := range []struct{ pkg, count string }{
		{"./deploy/engine/", "1x"},
		{"./deploy/", "5x"},
		{"./deploy/image/", "3x"},
		{"./health/", "20000x"},
		{"./replicate/", "1x"},
	} {
		if err := run("go", "test", "-run=^$", "-bench=.", "-benchtime="+b.count, "-count=1", b.pkg); err != nil {
			return err
		}
	}
	return nil
}

func run(name string, args ...string) error {
	fmt.Println(">", name, strings.Join(args, " "))
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	return cmd.Run()
}
