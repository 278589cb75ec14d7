package image

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// DefaultPlatform is the platform built for when none is asked for.
const DefaultPlatform = "linux/amd64"

// Builder makes a release's image from source.
type Builder interface {
	// Build makes the image once for each of platforms ("linux/amd64",
	// "linux/arm64", ...), writing what it does to out (nil discards it).
	// Nothing on any deploy host changes.
	Build(ctx context.Context, platforms []string, out io.Writer) (*Built, error)
}

// Built is the result of a build: one image per platform, held on the
// operator's side until it is delivered. Close it when done.
type Built struct {
	// Images maps each platform ("linux/amd64") onto its image.
	Images map[string]v1.Image
	// cleanup removes temporary files the images read from.
	cleanup []string
}

// NewBuilt wraps images built elsewhere (keyed by platform), such as one
// read with go-containerregistry's tarball or remote packages.
func NewBuilt(images map[string]v1.Image) *Built { return &Built{Images: images} }

// Platforms lists the built platforms, sorted.
func (b *Built) Platforms() []string {
	var ps []string
	for p := range b.Images {
		ps = append(ps, p)
	}
	sort.Strings(ps)
	return ps
}

// For returns the image for platform; an error names what was built.
func (b *Built) For(platform string) (v1.Image, error) {
	if img, ok := b.Images[platform]; ok {
		return img, nil
	}
	return nil, fmt.Errorf("no image for %s: built for %s", platform, strings.Join(b.Platforms(), ", "))
}

// ID returns the image ID ("sha256:...") an engine will give the image
// for platform: the digest of its config.
func (b *Built) ID(platform string) (string, error) {
	img, err := b.For(platform)
	if err != nil {
		return "", err
	}
	h, err := img.ConfigName()
	if err != nil {
		return "", fmt.Errorf("image ID: %w", err)
	}
	return h.String(), nil
}

// Close removes the temporary files the images are read from.
func (b *Built) Close() error {
	for _, p := range b.cleanup {
		os.RemoveAll(p)
	}
	b.cleanup = nil
	return nil
}

// platformOf splits "linux/arm64/v8" into its parts.
func platformOf(p string) (v1.Platform, error) {
	parts := strings.Split(p, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return v1.Platform{}, fmt.Errorf("platform %q: want os/arch[/variant], such as linux/amd64", p)
	}
	pl := v1.Platform{OS: parts[0], Architecture: parts[1]}
	if len(parts) == 3 {
		pl.Variant = parts[2]
	}
	return pl, nil
}

// Platform returns the platform string of an engine's OS and Arch
// ("linux", "amd64" -> "linux/amd64"), as engine.Version reports them.
func Platform(os, arch string) string {
	switch arch {
	case "x86_64":
		arch = "amd64"
	case "aarch64":
		arch = "arm64"
	}
	return os + "/" + arch
}

func uniq(ps []string) []string {
	out := slices.Clone(ps)
	sort.Strings(out)
	return slices.Compact(out)
}
