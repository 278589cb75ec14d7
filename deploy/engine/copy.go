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
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	sorted := append([]File(nil), files...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Path < sorted[j].Path })
	dirs := map[string]bool{}
	now := time.Now()
	for _, f := range sorted {
		if !path.IsAbs(f.Path) {
			return fmt.Errorf("copy %s into container %s on %s: the path must be absolute", f.Path, name, e.host)
		}
		for d := path.Dir(f.Path); d != "/" && !dirs[d]; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	var dirList []string
	for d := range dirs {
		dirList = append(dirList, d)
	}
	sort.Strings(dirList)
	for _, d := range dirList {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d[1:] + "/", Mode: 0o755, ModTime: now}); err != nil {
			return err
		}
	}
	for _, f := range sorted {
		mode := f.Mode
		if mode == 0 {
			mode = 0o644
		}
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: f.Path[1:], Mode: int64(mode.Perm()), Size: int64(len(f.Content)), ModTime: now}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := tw.Write(f.Content); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	_, err := call(ctx, e, e.callTimeout, func(ctx context.Context) (client.CopyToContainerResult, error) {
		return e.api.CopyToContainer(ctx, name, client.CopyToContainerOptions{DestinationPath: "/", Content: &buf})
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
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	sorted := append([]File(nil), files...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Path < sorted[j].Path })
	dirs := map[string]bool{}
	now := time.Now()
	for _, f := range sorted {
		rel, ok := strings.CutPrefix(path.Clean(f.Path), dir+"/")
		if !path.IsAbs(f.Path) || !ok || strings.HasPrefix(rel, "../") {
			return fmt.Errorf("copy %s into container %s on %s: the path must be below %s", f.Path, name, e.host, dir)
		}
		for d := path.Dir(rel); d != "." && !dirs[d]; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	for _, d := range slices.Sorted(maps.Keys(dirs)) {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o700, ModTime: now}); err != nil {
			return err
		}
	}
	for _, f := range sorted {
		mode := f.Mode
		if mode == 0 {
			mode = 0o644
		}
		rel := strings.TrimPrefix(path.Clean(f.Path), dir+"/")
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: rel, Mode: int64(mode.Perm()), Size: int64(len(f.Content)), ModTime: now}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := tw.Write(f.Content); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	_, err := call(ctx, e, e.callTimeout, func(ctx context.Context) (client.CopyToContainerResult, error) {
		return e.api.CopyToContainer(ctx, name, client.CopyToContainerOptions{DestinationPath: dir, Content: &buf, CopyUIDGID: true})
	})
	if err != nil {
		return fmt.Errorf("copy %d files into %s of container %s on %s: %w", len(files), dir, name, e.host, err)
	}
	return nil
}
