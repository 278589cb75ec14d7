package deploy_test

import (
	"fmt"

	"github.com/slipwayhq/slipway/deploy"
)

// A server's Env is merged over the app's and the role's for that
// host's containers only, as Kamal's env tags are.
func ExampleServer_env() {
	app := deploy.App{
		Service: "shop",
		Image:   "ghcr.io/acme/shop",
		Env:     deploy.Env{Clear: map[string]string{"DB_ROLE": "primary"}},
		Roles: deploy.Roles{"jobs": {Servers: []deploy.Server{
			{Host: "203.0.113.20"},
			{Host: "203.0.113.21", Env: deploy.Env{Clear: map[string]string{"DB_ROLE": "replica"}}},
		}}},
	}
	plan, err := deploy.NewPlan(app, deploy.Release{Version: "v1"}, deploy.State{})
	if err != nil {
		panic(err)
	}
	for _, b := range plan.Batches {
		for _, st := range b.Steps {
			if st.Kind == deploy.StepStart {
				fmt.Println(st.Host, st.Env["DB_ROLE"])
			}
		}
	}
	// Output:
	// 203.0.113.20 primary
	// 203.0.113.21 replica
}
