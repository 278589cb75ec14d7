package image_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy/image"
	"github.com/slipwayhq/slipway/internal/lab"
)

// BenchmarkDelivery puts a ~50 MB image (a 46 MB data layer and the app's
// binary layer) on 3 lab hosts, side by side:
//
//   - registry-free delivery over each host's SSH connection, first to
//     hosts without the image, then a release that changes only the binary;
//   - the naive way, `docker save | ssh host docker load`, with the OpenSSH
//     client and the docker CLI, from a fourth lab host's engine (the
//     operator's own engine in real life) to the same 3 hosts, for the
//     same two releases (it sends every layer both times);
//   - through the lab registry: push, then the 3 hosts pull.
//
// Run with: go test -run '^$' -bench Delivery -benchtime 1x ./deploy/image/
func BenchmarkDelivery(b *testing.B) {
	l := lab.Require(b, 4)
	reg := lab.RequireRegistry(b, l)
	ts := targets(b, l, 3)
	src := l.Hosts[3] // the engine the naive way saves from
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()

	dir := writeApp(b, b.TempDir(), "b1", 46<<20)
	v1, err := goApp(dir).Build(ctx, nil, nil)
	require.NoError(b, err)
	writeApp(b, dir, "b2", 0)
	v2, err := goApp(dir).Build(ctx, nil, nil)
	require.NoError(b, err)
	size := imageSize(b, v1)

	// The naive way's source engine holds both releases.
	repo := uniqueRepo(b, append(ts, targets(b, l, 4)[3]))
	archive := filepath.Join(b.TempDir(), "images.tar")
	f, err := os.Create(archive)
	require.NoError(b, err)
	require.NoError(b, tarball.MultiRefWrite(map[name.Reference]v1Image{
		mustTag(b, repo+":b1"): v1.Images[image.DefaultPlatform],
		mustTag(b, repo+":b2"): v2.Images[image.DefaultPlatform],
	}, f))
	f.Close()
	srcEngine := targets(b, l, 4)[3].Engine
	f, _ = os.Open(archive)
	require.NoError(b, srcEngine.ImageLoad(ctx, f))
	f.Close()

	clean := func() {
		for _, t := range ts {
			for _, tag := range []string{repo + ":b1", repo + ":b2", reg.Addr + "/" + repo + ":b1"} {
				t.Engine.ImageRemove(ctx, tag, true)
			}
		}
	}
	naive := func(tag string) time.Duration {
		start := time.Now()
		var wg sync.WaitGroup
		for _, h := range l.Hosts[:3] {
			wg.Add(1)
			go func() {
				defer wg.Done()
				script := fmt.Sprintf("docker -H unix://%s save %s | ssh -i %s -o UserKnownHostsFile=%s -o BatchMode=yes root@%s docker -H unix://%s load -q",
					src.DockerSocket, tag, l.KeyFile, l.KnownHosts, h.Addr, h.DockerSocket)
				out, err := exec.CommandContext(ctx, "sh", "-c", script).CombinedOutput()
				require.NoError(b, err, "%s", out)
			}()
		}
		wg.Wait()
		return time.Since(start)
	}
	deliver := func(built *image.Built, tag string) (time.Duration, int64) {
		start := time.Now()
		res, err := image.Deliver(ctx, built, tag, ts, image.Options{})
		require.NoError(b, err)
		return time.Since(start), sentBytes(res)
	}

	var freeFirst, freeChange, naiveFirst, naiveChange, push, pull time.Duration
	var firstBytes, changeBytes int64
	b.ResetTimer()
	for range b.N {
		clean()
		d, n := deliver(v1, repo+":b1")
		freeFirst, firstBytes = freeFirst+d, n
		d, n = deliver(v2, repo+":b2")
		freeChange, changeBytes = freeChange+d, n

		clean()
		naiveFirst += naive(repo + ":b1")
		naiveChange += naive(repo + ":b2")

		clean()
		r := &image.Registry{Username: reg.Username, Password: reg.Password}
		ref := reg.Addr + "/" + repo + ":b1"
		start := time.Now()
		require.NoError(b, r.Push(ctx, v1, ref))
		push += time.Since(start)
		start = time.Now()
		var wg sync.WaitGroup
		for _, t := range ts {
			wg.Add(1)
			go func() { defer wg.Done(); require.NoError(b, r.Pull(ctx, t, ref)) }()
		}
		wg.Wait()
		pull += time.Since(start)
	}
	b.StopTimer()
	clean()

	per := func(d time.Duration) float64 { return d.Seconds() / float64(b.N) }
	b.ReportMetric(per(freeFirst), "free-first-s")
	b.ReportMetric(per(naiveFirst), "naive-first-s")
	b.ReportMetric(per(freeChange), "free-change-s")
	b.ReportMetric(per(naiveChange), "naive-change-s")
	b.ReportMetric(per(push), "push-s")
	b.ReportMetric(per(pull), "pull-s")
	fmt.Printf("\nDelivery of a %.1f MB image to 3 hosts (mean of %d runs)\n", float64(size)/(1<<20), b.N)
	fmt.Printf("  %-38s %8s %14s %8s\n", "", "time", "bytes sent", "vs naive")
	fmt.Printf("  %-38s %7.2fs %14s %8s\n", "naive save|ssh|load, first", per(naiveFirst), mb(3*size)+"*", "1.00x")
	fmt.Printf("  %-38s %7.2fs %14s %7.2fx\n", "registry-free over SSH, first", per(freeFirst), mb(firstBytes), per(freeFirst)/per(naiveFirst))
	fmt.Printf("  %-38s %7.2fs %14s %8s\n", "naive save|ssh|load, binary changed", per(naiveChange), mb(3*size)+"*", "1.00x")
	fmt.Printf("  %-38s %7.2fs %14s %7.2fx (%.1fx faster)\n", "registry-free over SSH, binary changed", per(freeChange), mb(changeBytes),
		per(freeChange)/per(naiveChange), per(naiveChange)/per(freeChange))
	fmt.Printf("  %-38s %7.2fs\n", "registry push (operator -> registry)", per(push))
	fmt.Printf("  %-38s %7.2fs\n", "registry pull (3 hosts at once)", per(pull))
	fmt.Printf("  %-38s %7.2fs\n", "registry push + pull", per(push+pull))
	fmt.Println("  * uncompressed image layers, sent whole to each host")
}
