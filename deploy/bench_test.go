package deploy_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/internal/lab"
)

// BenchmarkDeployOverhead measures, side by side in one run, what a
// deploy costs beyond the app's own boot: deploy wall time minus the test
// app's boot-to-healthy time, for 1 host and for 3 hosts (the primary, then the other two).
//
//	go test -run '^$' -bench DeployOverhead -benchtime 5x ./deploy/
func BenchmarkDeployOverhead(b *testing.B) {
	ctx := context.Background()
	one, _ := labApp(b, 1)
	three, l := labApp(b, 3)
	one.Retain, three.Retain = 1, 1
	s1, s3 := connect(b, one, io.Discard), connect(b, three, io.Discard)
	for _, s := range []*deploy.Session{s1, s3} {
		if _, err := s.Deploy(ctx, deploy.Release{Version: "v1"}); err != nil {
			b.Fatal(err)
		}
	}
	boot := appBootToHealthy(b, l.Hosts[0])

	var engines []*engine.Engine
	for _, h := range l.Hosts[:3] {
		engines = append(engines, h.Engine(b))
	}

	var wall1, wall3, floor1, floor3 time.Duration
	b.ResetTimer()
	for i := range b.N {
		floor1 += engineFloor(b, engines[:1])
		floor3 += engineFloor(b, engines)
		version := []string{"v2", "v1"}[i%2]
		start := time.Now()
		if _, err := s1.Deploy(ctx, deploy.Release{Version: version}); err != nil {
			b.Fatal(err)
		}
		wall1 += time.Since(start)
		start = time.Now()
		if _, err := s3.Deploy(ctx, deploy.Release{Version: version}); err != nil {
			b.Fatal(err)
		}
		wall3 += time.Since(start)
	}
	b.StopTimer()
	n := time.Duration(b.N)
	over1, over3 := wall1/n-boot, wall3/n-boot
	b.ReportMetric(float64(over1.Milliseconds()), "overhead-1host-ms")
	b.ReportMetric(float64(over3.Milliseconds()), "overhead-3hosts-ms")
	b.ReportMetric(float64(wall3)/float64(wall1), "3hosts/1host-x")
	b.ReportMetric(float64(floor3)/float64(floor1), "engine-floor-3/1-x")
	fmt.Fprintf(os.Stdout, "\ndeploy overhead (wall time minus the app's %s boot-to-healthy), %d deploys each:\n"+
		"  1 host             wall %7s  overhead %7s\n"+
		"  3 hosts, 2 batches wall %7s  overhead %7s  (%.2fx the 1-host wall time)\n"+
		"engine floor, no Slipway (create+start+stop of one container per host, hosts at once):\n"+
		"  1 host %7s   3 hosts %7s  (%.2fx)\n",
		boot.Round(time.Millisecond), b.N, (wall1 / n).Round(time.Millisecond), over1.Round(time.Millisecond),
		(wall3 / n).Round(time.Millisecond), over3.Round(time.Millisecond), float64(wall3)/float64(wall1),
		(floor1 / n).Round(time.Millisecond), (floor3 / n).Round(time.Millisecond), float64(floor3)/float64(floor1))
}

// engineFloor is the engines' own work in a deploy, without Slipway: on
// each host at once, create and start a container on the app network,
// then (once its app is up, untimed) stop it. On a 2-core machine three
// engines compete for the CPU, so this bounds how close 3 hosts can come
// to 1.
func engineFloor(b *testing.B, engines []*engine.Engine) time.Duration {
	ctx := context.Background()
	names := make([]string, len(engines))
	onAll := func(fn func(e *engine.Engine, name string)) time.Duration {
		start := time.Now()
		var wg sync.WaitGroup
		for i, e := range engines {
			wg.Add(1)
			go func() { defer wg.Done(); fn(e, names[i]) }()
		}
		wg.Wait()
		return time.Since(start)
	}
	for i := range names {
		names[i] = fmt.Sprintf("bench-floor-%d", rand.Uint32())
	}
	defer onAll(func(e *engine.Engine, name string) { e.Remove(ctx, name, true) })
	boot := onAll(func(e *engine.Engine, name string) {
		if _, err := e.Create(ctx, engine.ContainerSpec{Name: name, Image: lab.TestAppImage + ":v1", Network: deploy.DefaultNetwork}); err != nil {
			b.Error(err)
			return
		}
		e.Start(ctx, name)
	})
	// A PID 1 ignores SIGTERM until its handler is in: let the apps come up.
	onAll(func(e *engine.Engine, name string) {
		for range 200 {
			if lines, err := e.Tail(ctx, name, 5); err == nil && strings.Contains(strings.Join(lines, "\n"), "listening") {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	stop := onAll(func(e *engine.Engine, name string) { e.Stop(ctx, name, 10*time.Second) })
	return boot + stop
}

// appBootToHealthy is how long the test app takes from its start to its
// first passing /up, polled every 5 ms from the host: the part of a
// deploy that belongs to the app, not to Slipway.
func appBootToHealthy(b *testing.B, h lab.Host) time.Duration {
	ctx := context.Background()
	e := h.Engine(b)
	c := h.Dial(b)
	name := fmt.Sprintf("bench-boot-%d", rand.Uint32())
	if _, err := e.Create(ctx, engine.ContainerSpec{Name: name, Image: lab.TestAppImage + ":v1"}); err != nil {
		b.Fatal(err)
	}
	defer e.Remove(ctx, name, true)
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{
		DialContext:       func(ctx context.Context, _, addr string) (net.Conn, error) { return c.DialContext(ctx, "tcp", addr) },
		DisableKeepAlives: true,
	}}
	start := time.Now()
	if err := e.Start(ctx, name); err != nil {
		b.Fatal(err)
	}
	for time.Since(start) < 30*time.Second {
		ctr, err := e.Inspect(ctx, name)
		if err == nil && ctr.IP("") != "" {
			resp, err := client.Get("http://" + net.JoinHostPort(ctr.IP(""), fmt.Sprint(lab.TestAppPort)) + "/up")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return time.Since(start)
				}
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.Fatal("the test app never became healthy")
	return 0
}
