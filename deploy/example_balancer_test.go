package deploy_test

import (
	"fmt"
	"log"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/health"
)

// A balancer in front of three web hosts: the first deploy boots its
// kamal-proxy and, once every web host serves, routes it to their own
// kamal-proxies in one gated step. Automatic TLS terminates on the
// balancer; the web hosts' routes answer for their own address too, as
// the balancer's health checks ask for it.
func ExampleBalancer() {
	a := deploy.App{
		Service: "shop",
		Image:   "ghcr.io/acme/shop",
		Roles: deploy.Roles{"web": {
			Servers: deploy.Hosts("10.0.0.1", "10.0.0.2", "10.0.0.3"),
			Proxy: &deploy.Proxy{Hosts: []string{"shop.example.com"}, AppPort: 3000, Health: health.HTTP{Path: "/up"},
				Balancer: &deploy.Balancer{Servers: deploy.Hosts("10.0.0.9"), TLS: true}},
		}},
	}
	plan, err := deploy.NewPlan(a, deploy.Release{Version: "v1"}, deploy.State{})
	if err != nil {
		log.Fatal(err)
	}
	for _, st := range plan.Steps() {
		if st.Kind == deploy.StepBalancerDeploy {
			fmt.Println(st.Host, st.Proxy.Args())
		}
	}
	fmt.Println(deploy.BalancerTargets(a, "web"))

	// Adding a host changes the balancer's list, and only that: the
	// hosts that run v1 already are left as they are.
	running := deploy.StateRunning(a, "v1")
	web := a.Roles["web"]
	web.Servers = append(web.Servers, deploy.Server{Host: "10.0.0.4"})
	a.Roles["web"] = web
	plan, err = deploy.NewPlan(a, deploy.Release{Version: "v1"}, running)
	if err != nil {
		log.Fatal(err)
	}
	for _, st := range plan.Finish {
		fmt.Println(st.Kind, st.Old, "->", st.Proxy.Targets)
	}
	// Output:
	// 10.0.0.9 [kamal-proxy deploy shop-web --target=10.0.0.1:80 --target=10.0.0.2:80 --target=10.0.0.3:80 --host=shop.example.com --tls --health-check-path=/up --health-check-interval=1s --health-check-timeout=5s --deploy-timeout=30s --drain-timeout=30s]
	// [10.0.0.1:80 10.0.0.2:80 10.0.0.3:80]
	// balancer-deploy [10.0.0.1:80 10.0.0.2:80 10.0.0.3:80] -> [10.0.0.1:80 10.0.0.2:80 10.0.0.3:80 10.0.0.4:80]
}
