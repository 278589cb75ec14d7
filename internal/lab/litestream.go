package lab

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// LitestreamImage is the tag of the lab's Litestream image: the CLI built
// from the module proxy, in a FROM scratch image whose entrypoint is
// litestream, as in the official image production pulls.
const LitestreamImage = "litestream/litestream:0.5.18"

// RequireLitestreamImage builds the Litestream image once per lab and
// loads it into the engines of hosts that lack it, for sidecar tests.
func RequireLitestreamImage(t testing.TB, hosts []Host) {
	t.Helper()
	bin := LitestreamCLI(t)
	img, err := scratchImage([]file{
		{Path: "/usr/local/bin/litestream", Mode: 0o755, Src: bin},
		{Path: "/tmp", Mode: 0o1777, Dir: true},
		{Path: "/etc", Mode: 0o755, Dir: true},
	}, v1.Config{
		Entrypoint: []string{"/usr/local/bin/litestream"},
		Env:        []string{"PATH=/usr/local/bin"},
	})
	if err != nil {
		t.Fatalf("lab: litestream image: %v", err)
	}
	id, err := img.ConfigName()
	if err != nil {
		t.Fatalf("lab: litestream image: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	archive := filepath.Join(t.TempDir(), "litestream.tar")
	written := false
	for _, h := range hosts {
		e, err := h.localEngine(ctx)
		if err != nil {
			t.Fatalf("lab: %v", err)
		}
		if have, err := e.ImageInspect(ctx, LitestreamImage); err == nil && have.ID == id.String() {
			e.Close()
			continue
		}
		if !written {
			f, err := os.Create(archive)
			if err == nil {
				err = writeArchive(f, map[string]v1.Image{LitestreamImage: img})
				f.Close()
			}
			if err != nil {
				t.Fatalf("lab: litestream image: %v", err)
			}
			written = true
		}
		f, err := os.Open(archive)
		if err != nil {
			t.Fatalf("lab: %v", err)
		}
		err = e.ImageLoad(ctx, f)
		f.Close()
		e.Close()
		if err != nil {
			t.Fatalf("lab: load %s on %s: %v", LitestreamImage, h.Name, err)
		}
	}
}
