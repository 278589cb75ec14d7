package targets

import (
	"context"

	"github.com/slipwayhq/slipway/deploy"
)

// Remove takes the app off its servers: this -destination's routes, containers, images, network and lock, never volumes; it prints what goes and removes only with -confirm.
func Remove(ctx context.Context, confirm *bool, destination *string) error {
	s, err := connect(ctx, destination)
	if err != nil {
		return exit(err)
	}
	defer s.Close()
	_, err = s.Remove(ctx, deploy.RemoveOptions{Confirm: confirm != nil && *confirm})
	return exit(err)
}
