package deploy_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"os/signal"
	"time"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/deploy/proxy"
)

// opsApp is the App the examples below connect to: a web role on two
// servers behind kamal-proxy, with one secret.
func opsApp() deploy.App {
	return deploy.App{
		Service: "hello",
		Image:   "ghcr.io/acme/hello",
		Roles: deploy.Roles{
			"web": {Servers: deploy.Hosts("203.0.113.10", "203.0.113.11"), Proxy: &deploy.Proxy{AppPort: 3000}},
		},
		Env: deploy.Env{Secret: []string{"DATABASE_URL"}},
	}
}

// RetainedVersions says which versions a rollback can return to: those
// still on every host. Here 203.0.113.11 no longer has v1.
func ExampleRetainedVersions() {
	app := opsApp()
	at := func(min int) time.Time { return time.Date(2026, 3, 1, 12, min, 0, 0, time.UTC) }
	versions := []deploy.VersionInfo{
		{Host: "203.0.113.10", Role: "web", Version: "v3", State: engine.StateRunning, Created: at(30)},
		{Host: "203.0.113.10", Role: "web", Version: "v2", State: engine.StateExited, Created: at(20)},
		{Host: "203.0.113.10", Role: "web", Version: "v1", State: engine.StateExited, Created: at(10)},
		{Host: "203.0.113.11", Role: "web", Version: "v3", State: engine.StateRunning, Created: at(31)},
		{Host: "203.0.113.11", Role: "web", Version: "v2", State: engine.StateExited, Created: at(21)},
	}
	fmt.Println(deploy.RetainedVersions(app, versions))
	deploy.PrintVersions(os.Stdout, app, versions)
	// Output:
	// [v3 v2]
	// HOST          ROLE  VERSION  STATE    CREATED
	// 203.0.113.10  web   v3       running  2026-03-01 12:30:00 UTC
	// 203.0.113.10  web   v2       exited   2026-03-01 12:20:00 UTC
	// 203.0.113.10  web   v1       exited   2026-03-01 12:10:00 UTC
	// 203.0.113.11  web   v3       running  2026-03-01 12:31:00 UTC
	// 203.0.113.11  web   v2       exited   2026-03-01 12:21:00 UTC
	// Retained on every host: v3, v2
}

// List what every host retains, and roll back to the newest version
// before the running one.
func ExampleSession_Versions() {
	ctx := context.Background()
	app := opsApp()
	s, err := deploy.Connect(ctx, app, deploy.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	versions, err := s.Versions(ctx)
	if err != nil {
		log.Fatal(err)
	}
	deploy.PrintVersions(os.Stdout, app, versions)
	if retained := deploy.RetainedVersions(app, versions); len(retained) > 1 {
		if _, err := s.Rollback(ctx, retained[1]); err != nil {
			log.Fatal(err)
		}
	}
}

// Keep one stopped release per host for a quick rollback, and drop the
// rest along with the images nothing uses any more.
func ExampleSession_Prune() {
	ctx := context.Background()
	app := opsApp()
	app.Retain = 1
	s, err := deploy.Connect(ctx, app, deploy.Options{LockWait: time.Minute})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	rep, err := s.Prune(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, img := range rep.Images {
		fmt.Println("removed", img.Ref, "from", img.Host)
	}
}

// A Details value prints as what runs where; a test or a chat bot can
// also read its fields.
func ExampleDetails_String() {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	d := deploy.Details{
		Service: "hello",
		Time:    now,
		Lock:    &deploy.LockInfo{Performer: "ana@laptop", Time: now.Add(-90 * time.Second), Version: "v4", Message: "hotfix"},
		Hosts: []deploy.HostDetails{{
			Host:   "203.0.113.10",
			Engine: engine.Version{Server: "26.1.5", API: "1.45"},
			Containers: []deploy.ContainerDetails{
				{Name: "hello-web-v3", Role: "web", Version: "v3", State: engine.StateRunning,
					StartedAt: now.Add(-26 * time.Hour), Serving: true},
				{Name: "hello-web-v2", Role: "web", Version: "v2", State: engine.StateExited,
					FinishedAt: now.Add(-76 * time.Hour)},
			},
			Proxy: &deploy.ProxyDetails{State: engine.StateRunning, Routes: []proxy.Route{
				{Service: "hello-web", Host: "hello.example.com", Target: "hello-web-v3:3000", State: "running"},
			}},
		}, {
			Host:   "203.0.113.11",
			Engine: engine.Version{Server: "19.03.12", API: "1.40"},
		}},
	}
	d.Hosts[1].EngineErr = d.Hosts[1].Engine.Check()
	fmt.Print(d)
	// Output:
	// hello on 2 hosts, read 2026-03-01 12:00:00 UTC
	// Lock: held by ana@laptop since 2026-03-01 11:58:30 UTC (1 minute ago), deploying v4: "hotfix"
	//
	// HOST          ROLE  VERSION  STATE    HEALTH  SINCE               CONTAINER
	// 203.0.113.10  web   v3       running  -       up 1 day            hello-web-v3 (serving)
	// 203.0.113.10  web   v2       exited   -       exit 0, 3 days ago  hello-web-v2
	// 203.0.113.11  -     -        nothing deployed
	//
	// HOST          PROXY    SERVICE    HOSTS              TARGET             ROUTE
	// 203.0.113.10  running  hello-web  hello.example.com  hello-web-v3:3000  running
	// 203.0.113.11  none
	//
	// HOST          ENGINE    API   SUPPORTED
	// 203.0.113.10  26.1.5    1.45  yes
	// 203.0.113.11  19.03.12  1.40  NO: docker engine older than Slipway supports: 19.03.12 is older than 20.10.9, which has the fixes for the archive endpoint copying files into containers uses; upgrade Docker Engine
}

// Follow every host's output until Ctrl-C; each line starts with its host
// and role.
func ExampleSession_Logs() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	s, err := deploy.Connect(ctx, opsApp(), deploy.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	err = s.Logs(ctx, deploy.LogOptions{Tail: 50, Follow: true}, os.Stdout)
	if err != nil {
		log.Fatal(err)
	}
}

// Run a one-off command in a fresh container of the running release, with
// the role's env and secrets, and ask every running container its version.
func ExampleSession_Exec() {
	ctx := context.Background()
	s, err := deploy.Connect(ctx, opsApp(), deploy.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	_, err = s.Exec(ctx, deploy.ExecOptions{Cmd: []string{"migrate", "status"}}, os.Stdout)
	if exit, ok := errors.AsType[*deploy.ExitError](err); ok {
		log.Fatalf("migrate status exited %d on %s", exit.Code, exit.Host)
	} else if err != nil {
		log.Fatal(err)
	}

	results, err := s.Exec(ctx, deploy.ExecOptions{Cmd: []string{"/hello", "version"}, Reuse: true}, os.Stdout)
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range results {
		fmt.Printf("%s runs %s: %s", r.Host, r.Version, r.Stdout)
	}
}
