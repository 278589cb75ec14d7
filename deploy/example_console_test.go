package deploy_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/slipwayhq/slipway/deploy"
)

// Open a shell in a one-off container of the running release, with this
// program's terminal, and exit with the shell's code.
func ExampleSession_ExecInteractive() {
	ctx := context.Background()
	s, err := deploy.Connect(ctx, opsApp(), deploy.Options{Output: os.Stderr})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	_, err = s.ExecInteractive(ctx, deploy.ExecOptions{Cmd: []string{"/bin/sh"}}, os.Stdin, os.Stdout)
	if exit, ok := errors.AsType[*deploy.ExitError](err); ok {
		s.Close()
		os.Exit(exit.Code)
	} else if err != nil {
		log.Fatal(err)
	}
}

// Plan the setup of two fresh hosts from what their checks found, without
// dialling them: root on a Debian host without Docker, and a sudo user on
// an Ubuntu host where Docker runs.
func ExampleNewSetupPlan() {
	app := deploy.App{
		Service: "hello",
		Image:   "ghcr.io/acme/hello",
		Roles: deploy.Roles{"web": {
			Servers: deploy.Hosts("203.0.113.10", "203.0.113.11"),
			Proxy:   &deploy.Proxy{Hosts: []string{"hello.example.com"}},
		}},
	}
	plan, err := deploy.NewSetupPlan(app, []deploy.HostCheck{
		{Host: "203.0.113.10", User: "root", Root: true, Apt: true, Systemd: true, OS: "Debian GNU/Linux 12 (bookworm)"},
		{Host: "203.0.113.11", User: "deploy", Sudo: true, InDockerGroup: true, Apt: true, Systemd: true,
			OS: "Ubuntu 24.04.1 LTS", Docker: deploy.DockerRunning, Engine: "27.5.1", Network: true},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(plan)
	// Output:
	// Set up 2 hosts for hello:
	//   203.0.113.10    Debian GNU/Linux 12 (bookworm), user root, Docker not installed
	//     $ apt-get update
	//     $ env DEBIAN_FRONTEND=noninteractive apt-get install -y docker.io
	//     $ systemctl enable --now docker
	//     ensure network slipway
	//     boot kamal-proxy basecamp/kamal-proxy:v0.9.2
	//   203.0.113.11    Ubuntu 24.04.1 LTS, user deploy (sudo -n), Docker running 27.5.1, network present, kamal-proxy not running
	//     boot kamal-proxy basecamp/kamal-proxy:v0.9.2
}
