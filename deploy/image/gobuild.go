package image

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Defaults for Go fields left zero.
const (
	DefaultDataPath = "/data"
	DefaultBinDir   = "/"
)

// Go builds a Go main package into a static linux binary (CGO_ENABLED=0)
// and assembles an OCI image around it with go-containerregistry: no
// Docker is needed on the operator's machine. The image's layers are the
// base's, then Data (when set), then the binary, so a release that only
// changes code sends only the binary's layer. The binary is the image's
// entrypoint (at Binary) and Args are its command, so a role's Cmd
// replaces Args, not the binary: Cmd ["work"] runs "/hello work".
type Go struct {
	// Package is the main package to build, as go build takes it, such
	// as "./cmd/hello".
	Package string
	// Dir is the directory go build runs in (inside the app's module);
	// "" means the current directory.
	Dir string
	// Base is the base image's reference, fetched from its registry with
	// the logins of ~/.docker/config.json; "" means scratch (nothing but
	// the binary and Data).
	Base string
	// Binary is the binary's path in the image; "" means
	// "/" + the package's last path element.
	Binary string
	// Args follow the binary as the image's command.
	Args []string
	// Env, Labels, Ports and WorkDir go into the image's config.
	Env     []string
	Labels  map[string]string
	Ports   []int
	WorkDir string
	// Data is a directory copied into the image at DataPath, in a layer of
	// its own (static assets, templates).
	Data string
	// DataPath is where Data lands; "" means DefaultDataPath.
	DataPath string
	// Flags are extra go build flags, such as "-tags=netgo"; the build
	// always uses -trimpath, so the same source gives the same image.
	Flags []string
	// LDFlags are passed as -ldflags; "" means "-s -w".
	LDFlags string
}

var _ Builder = Go{}

// Build compiles the package once per platform and assembles each image.
// A package that does not compile fails with the compiler's output.
func (g Go) Build(ctx context.Context, platforms []string, out io.Writer) (*Built, error) {
	if g.Package == "" {
		return nil, errors.New(`go build: Package must name the main package, such as "./cmd/hello"`)
	}
	if len(platforms) == 0 {
		platforms = []string{DefaultPlatform}
	}
	if out == nil {
		out = io.Discard
	}
	tmp, err := os.MkdirTemp("", "slipway-go-build-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	var data v1.Layer
	if g.Data != "" {
		files, err := dirFiles(g.Data, g.dataPath())
		if err != nil {
			return nil, fmt.Errorf("go build %s: data %s: %w", g.Package, g.Data, err)
		}
		if data, err = newLayer(files); err != nil {
			return nil, fmt.Errorf("go build %s: data layer: %w", g.Package, err)
		}
	}
	built := &Built{Images: map[string]v1.Image{}}
	start := time.Now()
	var compiling, assembling time.Duration
	for _, p := range uniq(platforms) {
		pl, err := platformOf(p)
		if err != nil {
			return nil, err
		}
		bin := filepath.Join(tmp, strings.ReplaceAll(p, "/", "-"))
		// A go build of a fresh module can take a minute (the first one
		// downloads and compiles every dependency): the phase shows it runs.
		ph := startPhase(out, fmt.Sprintf("go build %s for %s", g.Package, p))
		err = g.compile(ctx, pl, bin)
		compiling += ph.end("compiled", err)
		if err != nil {
			return nil, err
		}
		ph = startPhase(out, fmt.Sprintf("image for %s (%s)", p, g.layersText(data != nil)))
		img, err := g.assemble(ctx, pl, data, bin)
		assembling += ph.end("assembled", err)
		if err != nil {
			return nil, fmt.Errorf("go build %s: image for %s: %w", g.Package, p, err)
		}
		built.Images[p] = img
	}
	if out != io.Discard {
		fmt.Fprintf(out, "go build %s: %s in %s (compiling %s, assembling %s)\n", g.Package,
			plural(len(built.Images), "image", "images"), seconds(time.Since(start)), seconds(compiling), seconds(assembling))
	}
	return built, nil
}

// layersText names the layers an image gets on top of its base.
func (g Go) layersText(data bool) string {
	base := "scratch"
	if g.Base != "" {
		base = g.Base
	}
	if data {
		return base + " + data + binary " + g.binary()
	}
	return base + " + binary " + g.binary()
}

// plural is "1 image" or "2 images".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

func (g Go) dataPath() string {
	if g.DataPath == "" {
		return DefaultDataPath
	}
	return path.Clean("/" + g.DataPath)
}

func (g Go) binary() string {
	if g.Binary != "" {
		return path.Clean("/" + g.Binary)
	}
	base := path.Base(strings.TrimSuffix(filepath.ToSlash(g.Package), "/"))
	if base == "." || base == "/" || base == "" {
		base = "app"
	}
	return path.Join(DefaultBinDir, base)
}

func (g Go) compile(ctx context.Context, pl v1.Platform, out string) error {
	ldflags := g.LDFlags
	if ldflags == "" {
		ldflags = "-s -w"
	}
	args := append([]string{"build", "-trimpath", "-ldflags=" + ldflags, "-o", out}, g.Flags...)
	cmd := exec.CommandContext(ctx, "go", append(args, g.Package)...)
	cmd.Dir = g.Dir
	env := append(os.Environ(), "CGO_ENABLED=0", "GOOS="+pl.OS, "GOARCH="+pl.Architecture)
	if pl.Architecture == "arm" && strings.HasPrefix(pl.Variant, "v") {
		env = append(env, "GOARM="+pl.Variant[1:])
	}
	cmd.Env = env
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Run(); err != nil {
		where := g.Dir
		if where == "" {
			where = "."
		}
		return fmt.Errorf("go build %s (in %s) for %s/%s failed: %w\n%s", g.Package, where, pl.OS, pl.Architecture, err,
			indent(strings.TrimSpace(output.String())))
	}
	return nil
}

func (g Go) assemble(ctx context.Context, pl v1.Platform, data v1.Layer, bin string) (v1.Image, error) {
	base, err := g.base(ctx, pl)
	if err != nil {
		return nil, err
	}
	var layers []v1.Layer
	if data != nil {
		layers = append(layers, data)
	}
	binPath := g.binary()
	files := []layerFile{{path: binPath[1:], mode: 0o755, src: bin}}
	for p := path.Dir(binPath); p != "/"; p = path.Dir(p) {
		files = append(files, layerFile{path: p[1:], mode: 0o755, dir: true})
	}
	binLayer, err := newLayer(files)
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(base, append(layers, binLayer)...)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = pl.OS, pl.Architecture, pl.Variant
	cf.Created = v1.Time{Time: epoch}
	cf.Config.Entrypoint = []string{binPath}
	cf.Config.Cmd = g.Args
	cf.Config.Env = append(cf.Config.Env, g.Env...)
	if g.WorkDir != "" {
		cf.Config.WorkingDir = g.WorkDir
	}
	if len(g.Labels) > 0 && cf.Config.Labels == nil {
		cf.Config.Labels = map[string]string{}
	}
	for k, v := range g.Labels {
		cf.Config.Labels[k] = v
	}
	if len(g.Ports) > 0 && cf.Config.ExposedPorts == nil {
		cf.Config.ExposedPorts = map[string]struct{}{}
	}
	for _, p := range g.Ports {
		cf.Config.ExposedPorts[strconv.Itoa(p)+"/tcp"] = struct{}{}
	}
	// The history must list one entry per layer for engines to accept it.
	cf.History = nil
	return mutate.ConfigFile(img, cf)
}

// base fetches the base image for the platform, or scratch.
func (g Go) base(ctx context.Context, pl v1.Platform) (v1.Image, error) {
	if g.Base == "" {
		return empty.Image, nil
	}
	ref, err := name.ParseReference(g.Base)
	if err != nil {
		return nil, fmt.Errorf("base %q: %w", g.Base, err)
	}
	img, err := remote.Image(ref, remote.WithContext(ctx), remote.WithPlatform(pl),
		remote.WithAuthFromKeychain(authn.DefaultKeychain))
	if err != nil {
		return nil, fmt.Errorf("fetch base %s: %w", g.Base, err)
	}
	return img, nil
}

func indent(s string) string {
	if s == "" {
		return ""
	}
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}
