package deploy_test

import (
	"fmt"
	"time"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/health"
)

// A role that writes a declared database deploys by handoff: kamal-proxy
// holds its requests while the old container stops and the new one
// starts, so one process writes the file at a time and no request fails.
func ExampleNewPlan_handoff() {
	app := deploy.App{
		Service: "hello",
		Image:   "ghcr.io/acme/hello",
		Roles: deploy.Roles{"web": {
			Servers: deploy.Hosts("203.0.113.10"),
			Proxy:   &deploy.Proxy{AppPort: 3000, Health: health.HTTP{Path: "/up"}, MaxPause: 45 * time.Second},
		}},
		Volumes:   []string{"hello-data:/data"},
		Databases: []deploy.Database{{Path: "/data/hello.db", Role: "web"}},
	}
	state := deploy.State{Hosts: map[string]deploy.HostState{"203.0.113.10": {
		Containers: []deploy.Container{{Name: "hello-web-v1", Role: "web", Version: "v1", Running: true, Created: time.Now()}},
		Proxy:      &deploy.ProxyState{Running: true, Services: map[string]string{"hello-web": "hello-web-v1:3000"}},
		Images:     []string{"ghcr.io/acme/hello:v2"},
	}}}
	plan, err := deploy.NewPlan(app, deploy.Release{Version: "v2"}, state)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, st := range plan.Batches[0].Steps {
		fmt.Println(st.Kind)
	}
	// Output:
	// handoff-pause
	// handoff-stop
	// handoff-start
	// handoff-proxy
	// handoff-resume
}
