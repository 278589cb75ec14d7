package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// layerFile is one entry of a layer.
type layerFile struct {
	path string // inside the image, without a leading slash
	mode int64
	dir  bool
	src  string // file on this machine; "" for a directory
}

// epoch is every entry's time, so that the same files give the same
// layer digest and a host that has the layer is never sent it again.
var epoch = time.Unix(0, 0)

// newLayer writes files as one gzip-compressed layer, held in memory:
// serving it to several hosts costs no recompression.
func newLayer(files []layerFile) (v1.Layer, error) {
	sort.Slice(files, func(i, j int) bool { return files[i].path < files[j].path })
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(zw)
	for _, f := range files {
		hdr := &tar.Header{Name: f.path, Mode: f.mode, ModTime: epoch, Format: tar.FormatPAX}
		if f.dir {
			hdr.Typeflag, hdr.Name = tar.TypeDir, f.path+"/"
			if err := tw.WriteHeader(hdr); err != nil {
				return nil, err
			}
			continue
		}
		if err := addFile(tw, hdr, f.src); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	blob := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(blob)), nil
	})
}

func addFile(tw *tar.Writer, hdr *tar.Header, src string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	hdr.Typeflag, hdr.Size = tar.TypeReg, st.Size()
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}

// dirFiles lists the tree at dir as layer entries under dest, with their
// parent directories; modes are kept, owners and times are not.
func dirFiles(dir, dest string) ([]layerFile, error) {
	var files []layerFile
	for p := path.Dir(dest); p != "/" && p != "."; p = path.Dir(p) {
		files = append(files, layerFile{path: p[1:], mode: 0o755, dir: true})
	}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		inImage := path.Join(dest, filepath.ToSlash(rel))[1:]
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			files = append(files, layerFile{path: inImage, mode: int64(info.Mode().Perm()), dir: true})
		case info.Mode().IsRegular():
			files = append(files, layerFile{path: inImage, mode: int64(info.Mode().Perm()), src: p})
		default:
			return fmt.Errorf("%s: only regular files and directories go into an image layer", p)
		}
		return nil
	})
	return files, err
}
