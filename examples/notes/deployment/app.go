// Package deployment describes how notes is deployed. It is a module of
// its own (example.com/notes/deployment), nested in the app's repository:
// it requires the Slipway SDK and everything the SDK requires, while the
// app's module beside it requires only its own dependencies and
// health/up. The SDK's requirements (its own modernc.org/sqlite among
// them) therefore never change what the app's binary links: image.Go
// builds the app in the app's module.
package deployment

import (
	"os"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/deploy/image"
	"github.com/slipwayhq/slipway/health"
)

// Image is notes' image repository; each release tags it with its version.
const Image = "example/notes"

// DatabasePath is notes' SQLite database inside its containers.
const DatabasePath = "/data/notes.db"

// AppDir is the app's module, relative to this one: `go run mage.go`
// and `go test` run here, and image.Go runs go build there, so the build
// resolves the app's go.mod, not this module's.
const AppDir = ".."

// App is notes on the given web servers, behind kamal-proxy at
// notes.example.com (NOTES_DOMAIN sets another name), built from the app's module as
// a static binary in a scratch image and delivered over SSH (no
// registry). Its database lives on one host, so it runs on one server.
func App(servers ...deploy.Server) deploy.App {
	return deploy.App{
		Service: service(),
		Image:   Image,
		Build:   image.Go{Package: ".", Dir: AppDir, Binary: "/notes", Ports: []int{3000}},
		Roles: deploy.Roles{
			"web": {
				Servers: servers,
				Proxy: &deploy.Proxy{
					Hosts:   []string{domain()},
					AppPort: 3000,
					Health:  health.HTTP{Path: "/up", Interval: 200 * time.Millisecond},
				},
			},
		},
		Env:       deploy.Env{Clear: map[string]string{"DATABASE_PATH": DatabasePath}},
		Volumes:   []string{service() + "-data:/data"},
		Databases: []deploy.Database{{Path: DatabasePath, Role: "web"}},
		Retain:    2,
	}
}

// Servers are where the magefile deploys notes: the host in NOTES_HOST,
// reached with the SSH key in NOTES_SSH_KEY and the known_hosts file in
// NOTES_KNOWN_HOSTS, its engine at NOTES_DOCKER_SOCKET (each optional but
// the host). A team with fixed servers writes them here as values instead.
func Servers() []deploy.Server {
	host := os.Getenv("NOTES_HOST")
	if host == "" {
		return nil
	}
	s := deploy.Server{
		Host:         host,
		KnownHosts:   os.Getenv("NOTES_KNOWN_HOSTS"),
		DockerSocket: os.Getenv("NOTES_DOCKER_SOCKET"),
	}
	if key := os.Getenv("NOTES_SSH_KEY"); key != "" {
		s.KeyFiles = []string{key}
	}
	return []deploy.Server{s}
}

// domain is the host name kamal-proxy routes to notes:
// notes.example.com, or NOTES_DOMAIN.
func domain() string {
	if d := strings.TrimSpace(os.Getenv("NOTES_DOMAIN")); d != "" {
		return d
	}
	return "notes.example.com"
}

// service is the service's name: "notes", or NOTES_SERVICE, so that
// several copies (a test's) can share a host.
func service() string {
	if s := strings.TrimSpace(os.Getenv("NOTES_SERVICE")); s != "" {
		return s
	}
	return "notes"
}
