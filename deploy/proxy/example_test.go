package proxy_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/deploy/proxy"
)

// The kamal-proxy command line a web role's deploy runs inside the proxy
// container: traffic moves to the target once /up passes.
func ExampleService_Args() {
	s := proxy.Service{
		Name:           "hello-web",
		Target:         "hello-web-v2:3000",
		Hosts:          []string{"hello.example.com"},
		TLS:            true,
		HealthPath:     "/up",
		HealthInterval: time.Second,
		DeployTimeout:  30 * time.Second,
		DrainTimeout:   30 * time.Second,
	}
	fmt.Println(strings.Join(s.Args(), " "))
	// Output: kamal-proxy deploy hello-web --target=hello-web-v2:3000 --host=hello.example.com --tls --health-check-path=/up --health-check-interval=1s --deploy-timeout=30s --drain-timeout=30s
}

// The container that runs kamal-proxy on each web host.
func ExampleBoot_Spec() {
	spec := proxy.Boot{Network: "slipway"}.Spec()
	fmt.Println(spec.Name, spec.Image, spec.Ports, spec.Volumes)
	// Output: kamal-proxy basecamp/kamal-proxy:v0.9.2 [80:80 443:443] [kamal-proxy-config:/home/kamal-proxy/.config/kamal-proxy]
}

// The command line that holds a service's requests while its container
// is replaced: each request waits up to 30s for Resume.
func ExamplePauseArgs() {
	fmt.Println(strings.Join(proxy.PauseArgs("hello-web", 30*time.Second, 5*time.Second), " "))
	// Output: kamal-proxy pause hello-web --max-pause=30s --drain-timeout=5s
}
