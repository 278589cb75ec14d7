package lab

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/slipwayhq/slipway/replicate"
)

// LitestreamImage is the tag of the lab's Litestream image: the CLI built
// from the module proxy, in a FROM scratch image whose entrypoint is
// litestream, as in the official image.
const LitestreamImage = "litestream/litestream:0.5.18"

// SidecarImage is the tag of Slipway's own sidecar image, the one
// replicate.NewSidecar runs by default: replicate/cmd/slipway-litestream
// built from this checkout's source, its entrypoint.
const SidecarImage = replicate.DefaultImage

// RequireLitestreamImage readies hosts for sidecar tests: it builds the
// Litestream CLI image once per lab and loads it into the engines of
// hosts that lack it, and loads SidecarImage, the image a sidecar runs
// by default, as RequireSidecarImage does.
func RequireLitestreamImage(t testing.TB, hosts []Host) {
	t.Helper()
	RequireSidecarImage(t, hosts)
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
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := loadImage(ctx, hosts, LitestreamImage, img); err != nil {
		t.Fatalf("lab: %v", err)
	}
}

// RequireSidecarImage builds Slipway's sidecar program from this
// checkout (once per test process, so a change to it is always what the
// test runs) and loads SidecarImage into the engines of hosts whose copy
// differs.
func RequireSidecarImage(t testing.TB, hosts []Host) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := LoadSidecarImage(ctx, hosts); err != nil {
		t.Fatalf("lab: %v", err)
	}
}

var sidecarBuild struct {
	sync.Mutex
	img v1.Image
}

// LoadSidecarImage is RequireSidecarImage outside a test.
func LoadSidecarImage(ctx context.Context, hosts []Host) error {
	img, err := sidecarImage(ctx)
	if err != nil {
		return err
	}
	return loadImage(ctx, hosts, SidecarImage, img)
}

func sidecarImage(ctx context.Context) (v1.Image, error) {
	sidecarBuild.Lock()
	defer sidecarBuild.Unlock()
	if sidecarBuild.img != nil {
		return sidecarBuild.img, nil
	}
	dir, err := os.MkdirTemp("", "slipway-sidecar-")
	if err != nil {
		return nil, err
	}
	bin := filepath.Join(dir, "slipway-litestream")
	if err := goBuild(ctx, "", bin, replicate.SidecarPackage); err != nil {
		return nil, err
	}
	img, err := scratchImage([]file{
		{Path: replicate.SidecarBinary, Mode: 0o755, Src: bin},
		{Path: "/tmp", Mode: 0o1777, Dir: true},
		{Path: "/etc", Mode: 0o755, Dir: true},
	}, v1.Config{Entrypoint: []string{replicate.SidecarBinary}})
	os.RemoveAll(dir) // the image holds the binary's bytes
	if err != nil {
		return nil, fmt.Errorf("sidecar image: %w", err)
	}
	sidecarBuild.img = img
	return img, nil
}

// loadImage loads img as tag into the engines of hosts that lack that
// exact image.
func loadImage(ctx context.Context, hosts []Host, tag string, img v1.Image) error {
	id, err := img.ConfigName()
	if err != nil {
		return fmt.Errorf("%s: %w", tag, err)
	}
	dir, err := os.MkdirTemp("", "slipway-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	archive := filepath.Join(dir, "image.tar")
	written := false
	for _, h := range hosts {
		e, err := h.localEngine(ctx)
		if err != nil {
			return err
		}
		if have, err := e.ImageInspect(ctx, tag); err == nil && have.ID == id.String() {
			e.Close()
			continue
		}
		if !written {
			f, err := os.Create(archive)
			if err == nil {
				err = writeArchive(f, map[string]v1.Image{tag: img})
				f.Close()
			}
			if err != nil {
				e.Close()
				return fmt.Errorf("%s: %w", tag, err)
			}
			written = true
		}
		f, err := os.Open(archive)
		if err != nil {
			e.Close()
			return err
		}
		err = e.ImageLoad(ctx, f)
		f.Close()
		e.Close()
		if err != nil {
			return fmt.Errorf("load %s on %s: %w", tag, h.Name, err)
		}
	}
	return nil
}
