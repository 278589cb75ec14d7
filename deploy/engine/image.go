package engine

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/moby/moby/client"
)

// Image is what Slipway reads about one image.
type Image struct {
	ID      string   // "sha256:..."
	Tags    []string // "name:tag" references that point at it
	Created time.Time
	Size    int64 // bytes
	Labels  map[string]string
	OS      string // set by ImageInspect only
	Arch    string // set by ImageInspect only
}

// ImageList returns the images that carry all of labels (nil means every image).
func (e *Engine) ImageList(ctx context.Context, labels map[string]string) ([]Image, error) {
	list, err := call(ctx, e, e.callTimeout, func(ctx context.Context) (client.ImageListResult, error) {
		return e.api.ImageList(ctx, client.ImageListOptions{Filters: labelFilter(labels)})
	})
	if err != nil {
		return nil, fmt.Errorf("list images on %s: %w", e.host, err)
	}
	images := make([]Image, len(list.Items))
	for i, s := range list.Items {
		images[i] = Image{
			ID:      s.ID,
			Tags:    tags(s.RepoTags),
			Created: time.Unix(s.Created, 0),
			Size:    s.Size,
			Labels:  s.Labels,
		}
	}
	return images, nil
}

// ImageInspect reads one image by reference or ID; the error matches ErrNotFound when there is none.
func (e *Engine) ImageInspect(ctx context.Context, ref string) (Image, error) {
	r, err := e.imageInspect(ctx, ref)
	if err != nil {
		return Image{}, err
	}
	img := Image{
		ID:      r.ID,
		Tags:    tags(r.RepoTags),
		Created: parseTime(r.Created),
		Size:    r.Size,
		OS:      r.Os,
		Arch:    r.Architecture,
	}
	if r.Config != nil {
		img.Labels = r.Config.Labels
	}
	return img, nil
}

// ImageTag makes target another reference to the image src names.
func (e *Engine) ImageTag(ctx context.Context, src, target string) error {
	_, err := call(ctx, e, e.callTimeout, func(ctx context.Context) (client.ImageTagResult, error) {
		return e.api.ImageTag(ctx, client.ImageTagOptions{Source: src, Target: target})
	})
	if err != nil {
		return fmt.Errorf("tag image %s as %s on %s: %w", src, target, e.host, err)
	}
	return nil
}

// ImageRemove removes a reference, and the image once no reference is
// left; force also removes an image that several references or a stopped
// container use.
func (e *Engine) ImageRemove(ctx context.Context, ref string, force bool) error {
	_, err := call(ctx, e, e.callTimeout, func(ctx context.Context) (client.ImageRemoveResult, error) {
		return e.api.ImageRemove(ctx, ref, client.ImageRemoveOptions{Force: force, PruneChildren: true})
	})
	if err != nil {
		return fmt.Errorf("remove image %s on %s: %w", ref, e.host, err)
	}
	return nil
}

// ImageLoad loads the images of a docker-archive tar, as docker save
// writes it. It lasts as long as the upload and the engine's unpacking
// make progress (see Options.IdleTimeout).
func (e *Engine) ImageLoad(ctx context.Context, r io.Reader) error {
	w := e.watch(ctx)
	defer w.stop()
	resp, err := e.api.ImageLoad(w.ctx, w.reader(r), client.ImageLoadWithQuiet(true))
	if err != nil {
		return fmt.Errorf("load images on %s: %w", e.host, w.explain(err))
	}
	defer resp.Close()
	if err := progressError(w.reader(resp)); err != nil {
		return fmt.Errorf("load images on %s: %w", e.host, w.explain(err))
	}
	return nil
}

// imageInspect reads one image as the engine reports it.
func (e *Engine) imageInspect(ctx context.Context, ref string) (client.ImageInspectResult, error) {
	r, err := call(ctx, e, e.callTimeout, func(ctx context.Context) (client.ImageInspectResult, error) {
		return e.api.ImageInspect(ctx, ref)
	})
	if err != nil {
		return r, fmt.Errorf("inspect image %s on %s: %w", ref, e.host, err)
	}
	return r, nil
}

// progressError reads an engine's JSON progress stream to its end and
// returns the first error it reports. The engine answers 200 before it
// has read the upload, so failures arrive in the stream.
func progressError(r io.Reader) error {
	return readProgress(r, nil)
}

// tags drops the "<none>:<none>" the engine lists for an untagged image.
func tags(refs []string) []string {
	var out []string
	for _, t := range refs {
		if t != "<none>:<none>" {
			out = append(out, t)
		}
	}
	return out
}
