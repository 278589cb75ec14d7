package engine

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/moby/moby/client"
)

// File is one file CopyTo writes into a container.
type File struct {
	Path    string // absolute, inside the container
	Mode    fs.FileMode
	Content []byte
}

// CopyTo writes files into a container's filesystem through the engine
// API (no shell or tool is needed in the image), creating their
// directories. Use it on a created container before Start to hand it a
// config file. Contents never appear in errors.
func (e *Engine) CopyTo(ctx context.Context, name string, files []File) error {
	for _, f := range files {
		if !path.IsAbs(f.Path) {
			return fmt.Errorf("copy %s into container %s on %s: the path must be absolute", f.Path, name, e.host)
		}
	}
	buf, err := archive(files, "/", 0o755)
	if err != nil {
		return err
	}
	_, err = call(ctx, e, e.callTimeout, func(ctx context.Context) (client.CopyToContainerResult, error) {
		return e.api.CopyToContainer(ctx, name, client.CopyToContainerOptions{DestinationPath: "/", Content: buf})
	})
	if err != nil {
		return fmt.Errorf("copy %d files into container %s on %s: %w", len(files), name, e.host, err)
	}
	return nil
}

// CopyInto writes files below dir, a directory the container already has
// (a volume's mount point, say), owned by the container's user as
// `docker cp -a` makes them: a process that runs as a user of its own
// (kamal-proxy's image runs as kamal-proxy) can read a file of mode 0600.
// Only the directories between dir and the files are created, with mode
// 0700; dir itself and its parents are left as they are. It works on a
// running container. Contents never appear in errors.
func (e *Engine) CopyInto(ctx context.Context, name, dir string, files []File) error {
	dir = path.Clean(dir)
	for _, f := range files {
		rel, ok := strings.CutPrefix(path.Clean(f.Path), dir+"/")
		if !path.IsAbs(f.Path) || !ok || strings.HasPrefix(rel, "../") {
			return fmt.Errorf("copy %s into container %s on %s: the path must be below %s", f.Path, name, e.host, dir)
		}
	}
	buf, err := archive(files, dir, 0o700)
	if err != nil {
		return err
	}
	_, err = call(ctx, e, e.callTimeout, func(ctx context.Context) (client.CopyToContainerResult, error) {
		return e.api.CopyToContainer(ctx, name, client.CopyToContainerOptions{DestinationPath: dir, Content: buf, CopyUIDGID: true})
	})
	if err != nil {
		return fmt.Errorf("copy %d files into %s of container %s on %s: %w", len(files), dir, name, e.host, err)
	}
	return nil
}

// archive is the tar stream of files below base, an absolute directory
// they are all inside: each file at its path relative to base (mode 0644
// when its Mode is zero), after the directories between base and it
// (dirMode), everything sorted so the same files give the same stream.
func archive(files []File, base string, dirMode int64) (*bytes.Buffer, error) {
	rel := func(p string) string {
		if base == "/" {
			return strings.TrimPrefix(path.Clean(p), "/")
		}
		return strings.TrimPrefix(path.Clean(p), base+"/")
	}
	sorted := slices.Clone(files)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Path < sorted[j].Path })
	dirs := map[string]bool{}
	for _, f := range sorted {
		for d := path.Dir(rel(f.Path)); d != "." && !dirs[d]; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	now := time.Now()
	for _, d := range slices.Sorted(maps.Keys(dirs)) {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: dirMode, ModTime: now}); err != nil {
			return nil, err
		}
	}
	for _, f := range sorted {
		mode := f.Mode
		if mode == 0 {
			mode = 0o644
		}
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: rel(f.Path), Mode: int64(mode.Perm()), Size: int64(len(f.Content)), ModTime: now}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.Content); err != nil {
			return nil, err
		}
	}
	return &buf, tw.Close()
}
