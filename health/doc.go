// Package health is the deploy's side of health: it decides when a
// release may take traffic and explains a release that never became
// healthy. The deployment code (a magefile, a tool) imports it.
//
// Apps do not import health: the /up endpoint an app serves is package
// github.com/slipwayhq/slipway/health/up, a module of its own with no
// requirements, so an app's binary links nothing of the deploy SDK (health
// reaches containers through the Docker engine and SSH). A gate polls
// that endpoint; the two meet only over HTTP.
//
// # Gates
//
// A Gate is a plain value: HTTP (GET a path, accept a status range,
// optionally require a substring of the body), TCP (a connection opens),
// Command (a command run inside the container through the engine exits 0)
// Docker (the engine reports the image's HEALTHCHECK healthy) or Running
// (the container keeps running, unrestarted, for a while: Kamal's
// readiness_delay, whose timing is its For). The other gates have the
// timing fields Interval, Timeout, Successes and Deadline,
// whose zero values mean DefaultInterval, DefaultTimeout, DefaultSuccesses
// and DefaultDeadline. Validate reports every problem at once, each naming
// its field ("health.http.interval: must not be negative, got -1s");
// ValidateAt does the same under a path of the caller's, so the deploy
// package can report "roles.web.proxy.health.path: ...".
//
// Wait runs a gate against a Target until it passes, its deadline comes,
// or a try finds a failure that waiting cannot fix (the container exited).
// A Target is a plain address (URL) or a container on a host (Container):
// then the gate reaches it through the Host's small interfaces — an
// Inspector for its state and address, a Dialer that connects from the host
// (the SSH connection, which reaches the container's bridge address) and an
// Execer for Command gates. *engine.Engine and the deploy/ssh client are
// those; tests use fakes.
//
// When a gate fails during a deploy, Diagnose gathers the container's
// state and last log lines, and a GateError carrying both prints a report
// that fits one screen. Reports cut and quote what apps said, so secrets
// are redacted before that: a Host's Redactor hides them in what tries
// capture, and Diagnostics.Redact in the log lines (secret.Values is a
// Redactor).
//
// # Example
//
// In a deploy, wait for the new container to answer its /up (served by
// health/up in the app), and explain a failure:
//
//	host := health.Host{Name: "203.0.113.10", Inspector: eng, Dialer: sshClient, Redactor: secrets}
//	target := health.Container(host, "app-web-v2", 3000)
//	res, err := health.Wait(ctx, health.HTTP{Path: "/up", Deadline: time.Minute}, target)
//	if err != nil {
//		diag := health.Diagnose(context.WithoutCancel(ctx), eng, eng, "app-web-v2").Redact(secrets)
//		return &health.GateError{Result: res, Diagnostics: diag}
//	}
//	fmt.Println(res) // http GET /up (200-399) on container app-web-v2:3000 on 203.0.113.10: passed after 3 attempts in 2.1s
package health
