package engine_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/internal/lab"
)

// BenchmarkInspect100 compares, side by side in one run, 100 container
// inspects three ways:
//
//   - api: the Engine API over one kept SSH connection (Slipway's way);
//   - ssh-mux: `ssh host docker inspect` over one OpenSSH ControlMaster
//     connection (Kamal's way);
//   - ssh-fresh: `ssh host docker inspect` with a new connection each time.
//
// Run it with `go run mage.go bench` or
// `go test -run '^$' -bench Inspect100 -benchtime 1x ./deploy/engine/`.
func BenchmarkInspect100(b *testing.B) {
	const calls = 100
	h := lab.Require(b, 1).Hosts[0]
	e := h.Engine(b)
	ctx := context.Background()
	name := unique("bench-inspect")
	if _, err := e.Create(ctx, engine.ContainerSpec{Name: name, Image: testApp}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Remove(context.Background(), name, true) })

	ctl := filepath.Join(b.TempDir(), "ctl")
	base := []string{"-i", h.KeyFile, "-o", "UserKnownHostsFile=" + h.KnownHosts, "-o", "StrictHostKeyChecking=yes",
		"-o", "BatchMode=yes", "-o", "ControlPath=" + ctl}
	target := h.User + "@" + h.Addr
	remote := fmt.Sprintf("docker -H unix://%s inspect %s", h.DockerSocket, name)
	ssh := func(extra ...string) error {
		args := append(append(append([]string{}, base...), extra...), target, remote)
		out, err := exec.Command("ssh", args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("ssh: %w: %s", err, out)
		}
		return nil
	}
	master := exec.Command("ssh", append(append([]string{}, base...), "-o", "ControlMaster=yes", "-o", "ControlPersist=120", "-fN", target)...)
	if out, err := master.CombinedOutput(); err != nil {
		b.Fatalf("start ControlMaster: %v: %s", err, out)
	}
	b.Cleanup(func() { exec.Command("ssh", append(append([]string{}, base...), "-O", "exit", target)...).Run() })

	var api, mux, fresh time.Duration
	b.ResetTimer()
	for range b.N {
		api += timed(b, calls, func() error { _, err := e.Inspect(ctx, name); return err })
		mux += timed(b, calls, func() error { return ssh("-o", "ControlMaster=no") })
		fresh += timed(b, calls, func() error { return ssh("-o", "ControlPath=none") })
	}
	per := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(b.N*calls) }
	b.ReportMetric(per(api), "api-ms/call")
	b.ReportMetric(per(mux), "ssh-mux-ms/call")
	b.ReportMetric(per(fresh), "ssh-fresh-ms/call")
	b.ReportMetric(float64(mux)/float64(api), "mux/api-x")
	b.ReportMetric(float64(fresh)/float64(api), "fresh/api-x")
	fmt.Fprintf(os.Stdout, "\n100 container inspects on %s, side by side:\n"+
		"  Engine API over one SSH connection   %8.1f ms  (%.2f ms/call)\n"+
		"  ssh docker inspect, ControlMaster    %8.1f ms  (%.2f ms/call)  %.0fx slower\n"+
		"  ssh docker inspect, fresh connection %8.1f ms  (%.2f ms/call)  %.0fx slower\n",
		h.Addr, ms(api, b.N), per(api), ms(mux, b.N), per(mux), float64(mux)/float64(api),
		ms(fresh, b.N), per(fresh), float64(fresh)/float64(api))
}

func timed(b *testing.B, n int, call func() error) time.Duration {
	start := time.Now()
	for range n {
		if err := call(); err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(start)
}

func ms(d time.Duration, runs int) float64 { return float64(d.Microseconds()) / 1000 / float64(runs) }
