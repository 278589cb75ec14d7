package image

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/deploy/ssh"
)

// DefaultDockerfile is the Dockerfile's name when Dockerfile.File is "".
const DefaultDockerfile = "Dockerfile"

// Dockerfile builds an image from a Dockerfile through a Docker engine's
// API: the operator's own engine, or a builder host's over SSH. The build
// context is sent as a tar stream; the builder's output is streamed as it
// comes; a failing step fails the build with its output.
type Dockerfile struct {
	// Context is the build context directory; "" means ".". Paths listed
	// in its .dockerignore (one glob per line, "#" comments) are left out.
	Context string
	// File is the Dockerfile's path inside Context; "" means DefaultDockerfile.
	File string
	// Args are the build's ARG values.
	Args map[string]string
	// Target is the stage to build; "" means the last one.
	Target string
	// Labels are added to the image.
	Labels map[string]string

	// Engine is the engine to build on. When nil, Host names a builder
	// reached over SSH, and when that is nil too the operator's own
	// engine at Socket is used.
	Engine *engine.Engine
	// Host is a builder host reached over SSH (its engine at Socket).
	Host *ssh.Config
	// Socket is the engine's socket path; "" means engine.DefaultSocket.
	Socket string
}

var _ Builder = Dockerfile{}

// Build checks the Dockerfile is there, builds it on the engine and reads
// the image back for delivery. The engine builds for its own platform
// only: asking for another is an error that says what to do.
func (d Dockerfile) Build(ctx context.Context, platforms []string, out io.Writer) (*Built, error) {
	dir := d.Context
	if dir == "" {
		dir = "."
	}
	file := d.File
	if file == "" {
		file = DefaultDockerfile
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("docker build: context %s is not a directory: check Dockerfile.Context", dir)
	}
	if _, err := os.Stat(filepath.Join(dir, file)); err != nil {
		return nil, fmt.Errorf("docker build: no %s in %s: check Dockerfile.Context and Dockerfile.File", file, dir)
	}

	e, closeEngine, err := d.engine(ctx)
	if err != nil {
		return nil, fmt.Errorf("docker build: %w", err)
	}
	defer closeEngine()
	v, err := e.Version(ctx)
	if err != nil {
		return nil, fmt.Errorf("docker build: %w", err)
	}
	own := Platform(v.OS, v.Arch)
	for _, p := range platforms {
		if p != own {
			return nil, fmt.Errorf("docker build: the builder is %s but hosts need %s: build on a builder of that platform (Dockerfile.Host), or use a Go build, which cross-compiles", own, p)
		}
	}

	if out == nil {
		out = io.Discard
	}
	start := time.Now()
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeContext(pw, dir, file)) }()
	// The builder's own lines stream above the spinner (or between the
	// plain start and end lines), so a long RUN step is never silent.
	ph := startPhase(out, "docker build "+filepath.Join(dir, file))
	id, err := e.ImageBuild(ctx, pr, engine.BuildOptions{
		Dockerfile: filepath.ToSlash(file), Args: d.Args, Target: d.Target, Labels: d.Labels,
	}, ph.output())
	building := ph.end("built", err)
	pr.Close()
	if err != nil {
		return nil, fmt.Errorf("docker build %s: %w", filepath.Join(dir, file), err)
	}

	// Read the image back, so that it is delivered like any other.
	ph = startPhase(out, "read the image back from the engine")
	built, err := readBack(ctx, e, id, own)
	reading := ph.end("read", err)
	if err != nil {
		return nil, err
	}
	if out != io.Discard {
		fmt.Fprintf(out, "docker build %s: 1 image in %s (building %s, reading back %s)\n",
			filepath.Join(dir, file), seconds(time.Since(start)), seconds(building), seconds(reading))
	}
	return built, nil
}

// readBack saves the image id from e into a temporary archive and opens
// it as the build's image for platform own.
func readBack(ctx context.Context, e *engine.Engine, id, own string) (*Built, error) {
	tmp, err := os.CreateTemp("", "slipway-docker-build-*.tar")
	if err != nil {
		return nil, err
	}
	built := &Built{cleanup: []string{tmp.Name()}}
	rc, err := e.ImageSave(ctx, id)
	if err == nil {
		_, err = io.Copy(tmp, rc)
		rc.Close()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		built.Close()
		return nil, fmt.Errorf("docker build: read the image back: %w", err)
	}
	img, err := tarball.ImageFromPath(tmp.Name(), nil)
	if err != nil {
		built.Close()
		return nil, fmt.Errorf("docker build: read the image back: %w", err)
	}
	built.Images = map[string]v1.Image{own: img}
	return built, nil
}

// engine returns the builder's engine and how to let go of it.
func (d Dockerfile) engine(ctx context.Context) (*engine.Engine, func(), error) {
	if d.Engine != nil {
		return d.Engine, func() {}, nil
	}
	socket := d.Socket
	if socket == "" {
		socket = engine.DefaultSocket
	}
	if d.Host != nil {
		c, err := ssh.Dial(ctx, *d.Host)
		if err != nil {
			return nil, nil, err
		}
		e, err := engine.New(ctx, func(ctx context.Context) (net.Conn, error) {
			return c.DialContext(ctx, "unix", socket)
		}, engine.Options{Host: c.Host(), Socket: socket})
		if err != nil {
			c.Close()
			return nil, nil, err
		}
		return e, func() { e.Close(); c.Close() }, nil
	}
	e, err := engine.New(ctx, func(ctx context.Context) (net.Conn, error) {
		var dialer net.Dialer
		return dialer.DialContext(ctx, "unix", socket)
	}, engine.Options{Host: "this machine", Socket: socket})
	if err != nil {
		return nil, nil, err
	}
	return e, func() { e.Close() }, nil
}

// writeContext writes dir as a build context tar, leaving out what its
// .dockerignore lists but the Dockerfile, which the engine needs.
func writeContext(w io.Writer, dir, file string) error {
	ignore, err := readIgnore(filepath.Join(dir, ".dockerignore"))
	if err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel != filepath.ToSlash(file) && rel != ".dockerignore" && ignored(ignore, rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		hdr := &tar.Header{Name: rel, Mode: int64(info.Mode().Perm()), ModTime: info.ModTime(), Format: tar.FormatPAX}
		switch {
		case d.IsDir():
			hdr.Typeflag, hdr.Name = tar.TypeDir, rel+"/"
			return tw.WriteHeader(hdr)
		case info.Mode().IsRegular():
			return addFile(tw, hdr, p)
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, target
			return tw.WriteHeader(hdr)
		}
		return nil // sockets, devices: not part of a build context
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

func readIgnore(file string) ([]string, error) {
	f, err := os.Open(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	defer f.Close()
	var pats []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		l := strings.TrimSpace(s.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		pats = append(pats, path.Clean(strings.TrimPrefix(filepath.ToSlash(l), "/")))
	}
	return pats, s.Err()
}

// ignored reports whether rel, or a directory it is in, matches a pattern.
func ignored(pats []string, rel string) bool {
	for _, pat := range pats {
		for p := rel; p != "." && p != "/"; p = path.Dir(p) {
			if ok, _ := path.Match(pat, p); ok {
				return true
			}
		}
	}
	return false
}
