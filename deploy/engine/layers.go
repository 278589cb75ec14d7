package engine

import (
	"context"
	"fmt"
)

// ImageLayers returns the diff IDs ("sha256:...", the digests of the
// uncompressed layers) of the image ref names, base layer first.
func (e *Engine) ImageLayers(ctx context.Context, ref string) ([]string, error) {
	r, err := e.api.ImageInspect(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("inspect image %s on %s: %w", ref, e.host, e.cause(err))
	}
	return r.RootFS.Layers, nil
}
