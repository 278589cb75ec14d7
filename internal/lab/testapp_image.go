package lab

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

var testAppSourceMu sync.Mutex

// RequireTestAppSource builds the test app from this checkout's source
// into an image of its own tag, slipway/testapp:src-<image id>, and loads
// it into the engines of hosts that lack it. It returns the tag. Loading
// a new tag changes no image another test uses and restarts nothing, so
// a test can use a test app switch that the hosts' v1..v3 images (built
// when the lab came up) do not have yet. The image reports version "src".
func RequireTestAppSource(t testing.TB, hosts []Host) string {
	t.Helper()
	testAppSourceMu.Lock()
	defer testAppSourceMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()
	img, err := func() (v1.Image, error) {
		bin := filepath.Join(dir, "testapp")
		if err := goBuild(ctx, "", bin, "github.com/slipwayhq/slipway/internal/lab/testapp"); err != nil {
			return nil, err
		}
		return scratchImage([]file{
			{Path: "/testapp", Mode: 0o755, Src: bin},
			{Path: "/tmp", Mode: 0o1777, Dir: true},
		}, v1.Config{
			Entrypoint:   []string{"/testapp"},
			Env:          []string{"APP_VERSION=src", "PORT=3000"},
			ExposedPorts: map[string]struct{}{"3000/tcp": {}},
		})
	}()
	if err != nil {
		t.Fatalf("lab: test app from source: %v", err)
	}
	id, err := img.ConfigName()
	if err != nil {
		t.Fatalf("lab: test app from source: %v", err)
	}
	tag := TestAppImage + ":src-" + id.Hex[:12]
	if err := loadImage(ctx, hosts, tag, img); err != nil {
		t.Fatalf("lab: test app from source: %v", err)
	}
	return tag
}
