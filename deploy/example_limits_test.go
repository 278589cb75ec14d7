package deploy_test

import (
	"fmt"
	"time"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/deploy/engine"
)

// Logs are capped at 10m by default; a role may keep more, and the plan
// shows logging only where it is not the default.
func ExampleLogging() {
	app := deploy.App{
		Service: "hello",
		Image:   "ghcr.io/acme/hello",
		Roles: deploy.Roles{
			"web": {Servers: deploy.Hosts("203.0.113.10"), Proxy: &deploy.Proxy{}},
			"jobs": {
				Servers:     deploy.Hosts("203.0.113.10"),
				Cmd:         []string{"work"},
				Logging:     deploy.Logging{Options: map[string]string{"max-size": "50m", "max-file": "3"}},
				StopTimeout: 2 * time.Minute, // a job may take that long to finish after SIGTERM
			},
		},
	}
	plan, err := deploy.NewPlan(app, deploy.Release{Version: "v1"}, deploy.State{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, st := range plan.Batches[0].Steps {
		if st.Kind == deploy.StepStart {
			fmt.Println(st.Role, st.Logging)
		}
	}
	// Output:
	// web <nil>
	// jobs json-file max-file=3 max-size=50m
}

// RemovePlan says what Remove takes from each host and what it keeps;
// Session.Remove prints it, and removes only with Confirm.
func ExampleRemovePlan() {
	app := deploy.App{
		Service: "hello",
		Image:   "ghcr.io/acme/hello",
		Roles:   deploy.Roles{"web": {Servers: deploy.Hosts("203.0.113.10"), Proxy: &deploy.Proxy{AppPort: 3000}}},
		Volumes: []string{"hello-data:/data"},
	}
	onSlipway := map[string]string{"slipway": "172.18.0.2"}
	host := deploy.HostInventory{
		Containers: []engine.Container{
			{Name: "hello-web-v2", ImageID: "sha256:2", Labels: map[string]string{deploy.LabelService: "hello", deploy.LabelRole: "web"}, IPs: onSlipway},
			{Name: "shop-web-v7", ImageID: "sha256:7", Labels: map[string]string{deploy.LabelService: "shop", deploy.LabelRole: "web"}, IPs: onSlipway},
			{Name: "kamal-proxy", ImageID: "sha256:p", IPs: onSlipway},
		},
		Images: []engine.Image{{ID: "sha256:2", Tags: []string{"ghcr.io/acme/hello:v2"}}, {ID: "sha256:7", Tags: []string{"ghcr.io/acme/shop:v7"}}},
		Proxy:  true,
		Routes: map[string]string{"hello-web": "hello-web-v2:3000", "shop-web": "shop-web-v7:3000"},
	}
	r, err := deploy.RemovePlan(app, map[string]deploy.HostInventory{"203.0.113.10": host})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(r)
	// Output:
	// Remove hello from 1 host:
	// 203.0.113.10:
	//   remove kamal-proxy routes hello-web
	//   stop and remove containers hello-web-v2
	//   keep kamal-proxy: other apps' routes remain: shop-web
	//   remove images ghcr.io/acme/hello:v2
	//   keep network: other containers are attached: kamal-proxy, shop-web-v7
	//   keep volumes hello-data: they hold data; remove one by hand on the host with `docker volume rm hello-data`
	// Last: remove the deploy lock .slipway/locks/hello-lock on 203.0.113.10; the audit log stays on each host at ~/.slipway/audit/hello-audit.log
}
