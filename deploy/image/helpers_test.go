package image_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy/image"
	"github.com/slipwayhq/slipway/internal/lab"
)

// appSource is a small web app: it answers / with its release and /up
// with 200, and finishes in-flight requests on SIGTERM.
const appSource = `package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
)

const release = %q

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "3000"
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, release) })
	mux.HandleFunc("/up", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	srv := &http.Server{Addr: ":" + port, Handler: mux}
	go srv.ListenAndServe()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	<-ctx.Done()
	srv.Shutdown(context.Background())
}
`

// writeApp writes a Go module whose main package serves release, with a
// data directory of dataBytes random (incompressible) bytes, and returns
// the module's directory.
func writeApp(t testing.TB, dir, release string, dataBytes int) string {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "data"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/app\n\ngo 1.26\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte(fmt.Sprintf(appSource, release)), 0o644))
	if dataBytes > 0 {
		if _, err := os.Stat(filepath.Join(dir, "data", "assets.bin")); err != nil {
			b := make([]byte, dataBytes)
			rand.Read(b)
			require.NoError(t, os.WriteFile(filepath.Join(dir, "data", "assets.bin"), b, 0o644))
		}
	}
	return dir
}

// goApp is the Go build of the app in dir.
func goApp(dir string) image.Go {
	return image.Go{Package: ".", Dir: dir, Binary: "/app", Data: filepath.Join(dir, "data"),
		Env: []string{"PORT=3000"}, Ports: []int{3000}}
}

// targets connects to the first n lab hosts; the connections close when
// the test ends.
func targets(t testing.TB, l *lab.Lab, n int) []image.Target {
	t.Helper()
	var ts []image.Target
	for _, h := range l.Hosts[:n] {
		c := h.Dial(t)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		e, err := lab.EngineOver(ctx, c, h.DockerSocket)
		cancel()
		require.NoError(t, err)
		t.Cleanup(func() { e.Close() })
		ts = append(ts, image.Target{Name: h.Addr, SSH: c, Engine: e})
	}
	return ts
}

// uniqueRepo names a repository of the test's own, removed from the
// hosts when the test ends.
func uniqueRepo(t testing.TB, ts []image.Target) string {
	n, _ := rand.Int(rand.Reader, big.NewInt(1_000_000))
	repo := fmt.Sprintf("slipway-test/img%d", n)
	t.Cleanup(func() {
		ctx := context.Background()
		for _, tg := range ts {
			imgs, _ := tg.Engine.ImageList(ctx, nil)
			for _, img := range imgs {
				for _, tag := range img.Tags {
					if strings.Contains(tag, repo) {
						tg.Engine.ImageRemove(ctx, tag, true)
					}
				}
			}
		}
	})
	return repo
}

func mb(n int64) string { return fmt.Sprintf("%.2f MB", float64(n)/(1<<20)) }

func sentBytes(rs []image.Result) (total int64) {
	for _, r := range rs {
		total += r.Bytes
	}
	return total
}

type v1Image = v1.Image

func mustTag(t testing.TB, s string) name.Reference {
	ref, err := name.NewTag(s)
	require.NoError(t, err)
	return ref
}

// imageSize is the compressed size of the built image's layers.
func imageSize(t testing.TB, b *image.Built) int64 {
	ls, err := b.Images[image.DefaultPlatform].Layers()
	require.NoError(t, err)
	var n int64
	for _, l := range ls {
		s, _ := l.Size()
		n += s
	}
	return n
}
