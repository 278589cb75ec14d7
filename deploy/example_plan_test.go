package deploy_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/health"
)

// Assert in a unit test what a deploy would do, with no server: describe
// what runs now as a State, plan the release against it, and look at the
// plan. This is how an app's own deploy_test.go pins its deploy order.
func ExampleNewPlan() {
	app := deploy.App{
		Service: "hello",
		Image:   "ghcr.io/acme/hello",
		Roles: deploy.Roles{"web": {
			Servers: deploy.Hosts("203.0.113.10", "203.0.113.11"),
			Proxy:   &deploy.Proxy{AppPort: 3000, Health: health.HTTP{Path: "/up"}},
		}},
		Boot: deploy.Boot{Limit: 1},
	}
	// Both hosts run v1 behind kamal-proxy.
	now := deploy.HostState{
		Containers: []deploy.Container{{Name: "hello-web-v1", Role: "web", Version: "v1", Running: true, Created: time.Now()}},
		Proxy:      &deploy.ProxyState{Running: true, Services: map[string]string{"hello-web": "hello-web-v1:3000"}},
		Images:     []string{"ghcr.io/acme/hello:v1", "ghcr.io/acme/hello:v2"},
	}
	state := deploy.State{Hosts: map[string]deploy.HostState{"203.0.113.10": now, "203.0.113.11": now}}

	plan, err := deploy.NewPlan(app, deploy.Release{Version: "v2"}, state)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(plan.Batches[0].Hosts[0], "goes first")
	fmt.Print(plan)
	// Output:
	// 203.0.113.10 goes first
	// Deploy hello v2, image ghcr.io/acme/hello:v2, to 2 hosts in 2 batches
	// Prepare:
	//   203.0.113.10             ensure network slipway
	//   203.0.113.11             ensure network slipway
	// Batch 1 of 2 (203.0.113.10, primary: the others boot once it is healthy):
	//   203.0.113.10    web      start hello-web-v2
	//   203.0.113.10    web      proxy hello-web -> hello-web-v2:3000 once /up passes (every 1s, timeout 5s, deploy timeout 30s, drain 30s)
	//   203.0.113.10    web      stop hello-web-v1
	// Batch 2 of 2 (203.0.113.11):
	//   203.0.113.11    web      start hello-web-v2
	//   203.0.113.11    web      proxy hello-web -> hello-web-v2:3000 once /up passes (every 1s, timeout 5s, deploy timeout 30s, drain 30s)
	//   203.0.113.11    web      stop hello-web-v1
}

// A hand-built state in one line: StateRunning is hosts that run a
// release and nothing else, kamal-proxy routing to it. A deploy of that
// release has nothing to do; the next one replaces it.
func ExampleStateRunning() {
	app := deploy.App{
		Service: "hello",
		Image:   "ghcr.io/acme/hello",
		Roles: deploy.Roles{"web": {
			Servers: deploy.Hosts("203.0.113.10"),
			Proxy:   &deploy.Proxy{AppPort: 3000, Health: health.HTTP{Path: "/healthz"}},
		}},
		Volumes: []string{"hello-data:/data"},
		Migrate: &deploy.Migrate{Cmd: []string{"/hello", "migrate"}},
	}
	state := deploy.StateRunning(app, "v1")
	fmt.Println(state.Hosts["203.0.113.10"].Proxy.Services)

	same, err := deploy.NewPlan(app, deploy.Release{Version: "v1"}, state)
	fmt.Println(errors.Is(err, deploy.ErrNothingToDeploy))
	fmt.Print(same)

	next, err := deploy.NewPlan(app, deploy.Release{Version: "v2"}, state)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(next)
	// Output:
	// map[hello-web:hello-web-v1:3000]
	// true
	// Nothing to deploy: every host already runs hello v1, image ghcr.io/acme/hello:v1
	// Deploy hello v2, image ghcr.io/acme/hello:v2, to 1 host in 1 batch
	// Prepare:
	//   203.0.113.10             ensure network slipway
	//   203.0.113.10             ensure image ghcr.io/acme/hello:v2
	// Migrate:
	//   203.0.113.10    web      run hello-migrate-v2: /hello migrate (volumes hello-data:/data)
	// Batch 1 of 1 (203.0.113.10):
	//   203.0.113.10    web      start hello-web-v2 (volumes hello-data:/data)
	//   203.0.113.10    web      proxy hello-web -> hello-web-v2:3000 once /healthz passes (every 1s, timeout 5s, deploy timeout 30s, drain 30s)
	//   203.0.113.10    web      stop hello-web-v1
}
