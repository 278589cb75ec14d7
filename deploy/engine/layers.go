package engine

import "context"

// ImageLayers returns the diff IDs ("sha256:...", the digests of the
// uncompressed layers) of the image ref names, base layer first.
func (e *Engine) ImageLayers(ctx context.Context, ref string) ([]string, error) {
	r, err := e.imageInspect(ctx, ref)
	if err != nil {
		return nil, err
	}
	return r.RootFS.Layers, nil
}
