package targets

import (
	"context"
	"fmt"

	"github.com/magefile/mage/mg"

	"github.com/slipwayhq/slipway/deploy"
)

// Server prepares the app's servers.
type Server mg.Namespace

// Setup prepares fresh Debian or Ubuntu hosts for a first deploy: installs and starts Docker where it is missing (apt-get, through sudo -n for a user that is not root), makes the app's network and boots kamal-proxy on web hosts; the plan is printed first, -dry stops there; running it again changes nothing.
func (Server) Setup(ctx context.Context, dry *bool, destination *string) error {
	a, err := app(destination)
	if err != nil {
		return exit(err)
	}
	cfg, _ := config()
	if dry != nil && *dry {
		checks, err := deploy.CheckServers(ctx, a, cfg.Options)
		if err != nil {
			return exit(err)
		}
		plan, err := deploy.NewSetupPlan(a, checks)
		if err != nil {
			return exit(err)
		}
		fmt.Fprint(output(), plan)
		return nil
	}
	_, err = deploy.Setup(ctx, a, cfg.Options)
	return exit(err)
}
