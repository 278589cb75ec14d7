package engine

import (
	"context"
	"fmt"
)

// NetworkExists reports whether a network of exactly that name exists.
func (e *Engine) NetworkExists(ctx context.Context, name string) (bool, error) {
	named, err := e.networks(ctx, name)
	if err != nil {
		return false, fmt.Errorf("look for network %s on %s: %w", name, e.host, err)
	}
	return len(named) > 0, nil
}
