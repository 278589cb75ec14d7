package proxy_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/deploy/proxy"
)

// execer is a unit test's stand-in for a host's engine: a struct of
// function fields, as the project's fakes are.
type execer struct {
	ExecFunc func(ctx context.Context, name string, cmd []string, opts engine.ExecOptions) (engine.ExecResult, error)
}

func (e execer) Exec(ctx context.Context, name string, cmd []string, opts engine.ExecOptions) (engine.ExecResult, error) {
	return e.ExecFunc(ctx, name, cmd, opts)
}

var _ proxy.Execer = execer{}

// Deploy runs kamal-proxy inside the proxy's container; a target that
// fails its health check comes back as an error with kamal-proxy's words.
// A fake Execer shows what runs where, with no host.
func ExampleDeploy() {
	fake := execer{ExecFunc: func(_ context.Context, name string, cmd []string, _ engine.ExecOptions) (engine.ExecResult, error) {
		fmt.Println(name+":", strings.Join(cmd, " "))
		if strings.Contains(strings.Join(cmd, " "), "v3") {
			return engine.ExecResult{ExitCode: 1, Stderr: []byte("Error: target failed to become healthy")}, nil
		}
		return engine.ExecResult{}, nil
	}}
	ctx := context.Background()
	err := proxy.Deploy(ctx, fake, proxy.DefaultContainer, proxy.Service{Name: "hello-web", Target: "hello-web-v2:3000", HealthPath: "/up"})
	fmt.Println("v2:", err)
	err = proxy.Deploy(ctx, fake, proxy.DefaultContainer, proxy.Service{Name: "hello-web", Target: "hello-web-v3:3000", HealthPath: "/up"})
	fmt.Println("v3:", err)
	// Output:
	// kamal-proxy: kamal-proxy deploy hello-web --target=hello-web-v2:3000 --health-check-path=/up
	// v2: <nil>
	// kamal-proxy: kamal-proxy deploy hello-web --target=hello-web-v3:3000 --health-check-path=/up
	// v3: kamal-proxy deploy hello-web to hello-web-v3:3000: Error: target failed to become healthy
}

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

// A route with a custom certificate, kept in the proxy's config volume
// for the target it routes to, below a path prefix that the app sees
// whole, with the client's X-Forwarded headers passed on (behind a CDN).
func ExampleService_Args_customCertificate() {
	cert, key := proxy.CertPaths("hello-web", "hello-web-v2")
	keep, pass := false, true
	s := proxy.Service{
		Name:               "hello-web",
		Target:             "hello-web-v2:3000",
		Hosts:              []string{"hello.example.com"},
		TLS:                true,
		TLSCertificatePath: cert,
		TLSPrivateKeyPath:  key,
		ForwardHeaders:     &pass,
		StripPathPrefix:    &keep,
		PathPrefixes:       []string{"/"},
	}
	fmt.Println(strings.Join(s.Args(), "\n"))
	// Output:
	// kamal-proxy
	// deploy
	// hello-web
	// --target=hello-web-v2:3000
	// --host=hello.example.com
	// --path-prefix=/
	// --strip-path-prefix=false
	// --tls
	// --tls-certificate-path=/home/kamal-proxy/.config/kamal-proxy/slipway-certs/hello-web/hello-web-v2/cert.pem
	// --tls-private-key-path=/home/kamal-proxy/.config/kamal-proxy/slipway-certs/hello-web/hello-web-v2/key.pem
	// --forward-headers=true
}

// Run options become the container's command and published ports; with
// none set, the image's own `kamal-proxy run` runs.
func ExampleBoot_Cmd() {
	b := proxy.Boot{BindIPs: []string{"10.0.0.5"}, MetricsPort: 9090, Debug: true, LogMaxSize: "50m"}
	spec := b.Spec()
	fmt.Println(spec.Cmd)
	fmt.Println(spec.Ports)
	fmt.Println(spec.LogOptions)
	fmt.Println(proxy.Boot{}.Cmd() == nil)
	// Output:
	// [kamal-proxy run --debug --metrics-port=9090]
	// [10.0.0.5:80:80 10.0.0.5:443:443 10.0.0.5:9090:9090]
	// map[max-size:50m]
	// true
}
