package deploy_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/slipwayhq/slipway/deploy"
)

// A running accessory whose declaration changed is rebooted by the next
// deploy, which says why; with Drift: DriftReport it is only reported.
func ExampleAccessoryFingerprint() {
	app := deploy.App{
		Service: "hello",
		Image:   "ghcr.io/acme/hello",
		Roles:   deploy.Roles{"web": {Servers: deploy.Hosts("203.0.113.10")}},
		Accessories: map[string]deploy.Accessory{"cache": {
			Image: "redis:7", Roles: []string{"web"},
			Env: deploy.Env{Clear: map[string]string{"LOG_LEVEL": "info"}},
		}},
	}
	// The hosts run v1, the cache made as declared (its fingerprint).
	state := deploy.StateRunning(app, "v1")

	cache := app.Accessories["cache"]
	cache.Image = "redis:8"
	cache.Env.Clear = map[string]string{"LOG_LEVEL": "debug"}
	app.Accessories = map[string]deploy.Accessory{"cache": cache}
	plan, _ := deploy.NewPlan(app, deploy.Release{Version: "v1"}, state)
	for _, st := range plan.Prepare {
		if st.Kind == deploy.StepRebootAccessory {
			fmt.Println(st.Kind, st.Container+":", strings.Join(st.Reasons, ", "))
		}
	}

	cache.Drift = deploy.DriftReport
	app.Accessories = map[string]deploy.Accessory{"cache": cache}
	plan, err := deploy.NewPlan(app, deploy.Release{Version: "v1"}, state)
	fmt.Println(errors.Is(err, deploy.ErrNothingToDeploy))
	fmt.Print(plan)
	// Output:
	// reboot-accessory hello-cache: env LOG_LEVEL changed, image changed
	// true
	// Nothing to deploy: every host already runs hello v1, image ghcr.io/acme/hello:v1
	// Drifted, not rebooted (Drift: report; accessory:reboot NAME applies it):
	//   203.0.113.10    cache hello-cache: env LOG_LEVEL changed, image changed
}
