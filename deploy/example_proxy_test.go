package deploy_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/deploy/proxy"
	"github.com/slipwayhq/slipway/health"
)

// A new kamal-proxy release in the App reboots the proxy of every web
// host, one at a time, before the host's other steps, and the plan says
// why; a proxy that matches is left alone.
func ExampleNewPlan_proxyReboot() {
	a := deploy.App{
		Service: "hello",
		Image:   "ghcr.io/acme/hello",
		Roles: deploy.Roles{"web": {
			Servers: deploy.Hosts("203.0.113.10", "203.0.113.11"),
			Proxy:   &deploy.Proxy{Hosts: []string{"hello.example.com"}, AppPort: 3000, Health: health.HTTP{Path: "/up"}},
		}},
	}
	state := deploy.StateRunning(a, "v1")
	a.Roles["web"].Proxy.Image = "basecamp/kamal-proxy:v0.9.3"
	a.Roles["web"].Proxy.MetricsPort = 9090
	plan, err := deploy.NewPlan(a, deploy.Release{Version: "v1"}, state)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(plan)
	// Output:
	// Deploy hello v1, image ghcr.io/acme/hello:v1, to 2 hosts in 2 batches
	// Prepare:
	//   203.0.113.10             ensure network slipway
	//   203.0.113.11             ensure network slipway
	// Batch 1 of 2 (203.0.113.10, primary: the others boot once it is healthy):
	//   203.0.113.10             reboot kamal-proxy basecamp/kamal-proxy:v0.9.3 (image changed, metrics-port changed), routes kept; new connections are refused for about a second
	// Batch 2 of 2 (203.0.113.11):
	//   203.0.113.11             reboot kamal-proxy basecamp/kamal-proxy:v0.9.3 (image changed, metrics-port changed), routes kept; new connections are refused for about a second
}

// A custom certificate for a role on several servers: the certificate
// and its key are secrets, written into each host's proxy at deploy time.
func ExampleProxy_customCertificate() {
	px := deploy.Proxy{
		Hosts:          []string{"hello.example.com", "www.hello.example.com"},
		AppPort:        3000,
		TLS:            true,
		TLSCertificate: "HELLO_TLS_CERT", // secret names, resolved through App.Secrets
		TLSPrivateKey:  "HELLO_TLS_KEY",
		SSLRedirect:    deploy.Bool(true),
		ForwardHeaders: deploy.Bool(true), // behind a CDN that sets X-Forwarded-For
	}
	a := deploy.App{Service: "hello", Image: "ghcr.io/acme/hello",
		Roles: deploy.Roles{"web": {Servers: deploy.Hosts("203.0.113.10", "203.0.113.11"), Proxy: &px}}}
	fmt.Println(a.Validate())
	cert, _ := proxy.CertPaths(deploy.ProxyService(a, "web"), deploy.ContainerName(a, "web", "v2"))
	fmt.Println(cert)
	// Output:
	// <nil>
	// /home/kamal-proxy/.config/kamal-proxy/slipway-certs/hello-web/hello-web-v2/cert.pem
}

// Reboot kamal-proxy on every web host, one at a time, and say how long
// each host refused new connections.
func ExampleSession_RebootProxy() {
	ctx := context.Background()
	s, err := deploy.Connect(ctx, opsApp(), deploy.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	reboots, err := s.RebootProxy(ctx, deploy.ProxyRebootOptions{})
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range reboots {
		fmt.Printf("%s: %s without a proxy, %d routes kept\n", r.Host, r.Dark, len(r.Routes))
	}
	if err := s.ProxyLogs(ctx, deploy.ProxyLogOptions{Tail: 20}, os.Stdout); err != nil {
		log.Fatal(err)
	}
}
