// Package deploy describes what to deploy — an App with its roles,
// servers, proxy, env and secrets; a Release — and deploys it with zero
// downtime: observe every host, make a Plan (a pure value you can print
// and assert in tests), then apply exactly that plan.
//
// A deploy boots the release's container next to the old one on each
// host, lets kamal-proxy switch traffic once the new container passes its
// health gate, then stops the old container (kept for rollback). Hosts
// boot in batches (Boot); with a limit, the primary role's first host
// goes alone first and nothing else boots if it fails. A deploy holds a
// lock on the primary host and appends an audit line per step to every
// host's log. Secret values reach containers only through the engine API:
// never the output, the plan, the audit log or an error.
//
// A web role's Proxy.Balancer puts one more kamal-proxy in front of the
// role's hosts (Balancer): one entry point that terminates TLS and
// spreads requests over the hosts' own proxies, whose list of targets a
// deploy changes, in one gated step, only when hosts are added or
// removed, or to drain a host whose release failed its gate.
//
// The subpackages are how Slipway talks to the real world: ssh is the
// transport to a host, engine the Docker Engine API through it, and proxy
// drives kamal-proxy; kamal reads a Kamal project into an App.
//
// Env.Secret names the secrets a container gets; App.Secrets, a
// secret.Source from package secret, looks their values up when a deploy
// needs them (ResolveSecrets), and the session redacts every value it
// resolved from all it prints and returns.
//
// # Relative paths
//
// A relative secrets path — secret.File's Path (".slipway/secrets" by
// default) and kamal.Secrets' Files — resolves against the project root:
// the nearest directory holding a go.mod, walking up from the working
// directory (secret.ProjectRoot). So a plan or secrets test run by go
// test in a package directory reads the file `mage deploy` reads at the
// root; kamal.Load stores its secrets files as absolute paths. The image
// builders' directories (image.Go's Dir, image.Dockerfile's Context) are
// taken from the working directory, as go build and docker build take
// them; mage runs in the project root, where the two rules agree.
//
// # Databases, recovery and drills
//
// An App declares its SQLite databases (Databases), each with the
// replicate.Replica that keeps it safe; the plan adds the replication
// sidecar or embedded replication's env. The operations that bring a
// database back run on Session and read like one family:
// Session.PlanRecovery and Session.Recover take a Recovery and give a
// RecoveryPlan of RecoverySteps and a RecoveryReport;
// Session.DrillOnHost runs a replicate.Drill on a host, and
// Session.DrillApp boots the whole app on a restored copy
// (AppDrillOptions, AppDrillReport); Session.VerifyDatabases is the
// daily freshness check. Every restored file passes
// replicate.CheckIntegrity before it is trusted or put in place.
//
// # Why deploy imports replicate (and Litestream)
//
// deploy does not build without Litestream, on purpose. A Database holds
// a replicate.Replica, and recovery and drills restore the replica on
// the operator's machine (replicate.Restore, Verify, CheckIntegrity,
// MeasureRisk) before a host is touched, so those operations need
// Litestream, its S3 client and SQLite in the operator's program
// anyway. Cutting the import would mean a second values-only replica
// package or restore functions the user wires in by hand, and an App
// with a database but no restorer would fail at run time rather than
// compile. The cost falls only on operator programs (Mage targets, a
// team's tool): an app's binary never links deploy, and its /up handler
// (health/up) imports nothing of Slipway. Measured: replicate brings
// 177 of the 522 packages `go list -deps ./deploy` lists (69 of the AWS
// SDK, 27 of smithy-go, Litestream, modernc.org/sqlite); examples/tool,
// which uses deploy and replicate, builds to 32.0 MB, of which linking
// replicate's packages alone accounts for at least 10.4 MB.
//
// Every operation works on its hosts at once, at most Options.Parallel
// (DefaultParallel) at a time, and reports their errors in the app's
// order of hosts: as one *HostsError, whose message groups the hosts that
// failed for the same reason and which unwraps to each host's
// *HostError, so errors.Is and errors.As see every host's error.
//
// # Output
//
// Each finished step prints one line: host, role, step, detail, its
// duration and ok or FAILED, and appends the same step to the host's
// audit log. A step's duration has one fixed-width format, seconds to
// the hundredth ("12.34s"), so that the lines of many hosts stay in
// columns; go-humanize, which rounds to whole words ("3 minutes"), does
// not do that job. Ages a person reads once (Details, a held lock) and
// sizes (an image sent to a host) are go-humanize's: "3 days ago",
// "48 MB".
//
// A deploy or rollback, and an exec on several hosts, end with one
// summary table, a row per host and role; when hosts failed, the last
// lines say "Failed on N of M hosts:" and name the hosts of each reason,
// redacted like everything else.
//
// # Example
//
//	app := deploy.App{
//		Service: "hello",
//		Image:   "ghcr.io/acme/hello",
//		Roles: deploy.Roles{
//			"web": {
//				Servers: deploy.Hosts("203.0.113.10", "203.0.113.11"),
//				Proxy:   &deploy.Proxy{Hosts: []string{"hello.example.com"}, AppPort: 3000},
//			},
//		},
//		Env: deploy.Env{Secret: []string{"SECRET_KEY_BASE"}},
//	}
//	s, err := deploy.Connect(ctx, app, deploy.Options{})
//	if err != nil {
//		return err
//	}
//	defer s.Close()
//	_, err = s.Deploy(ctx, deploy.Release{Version: "v42"})
//
// Unit-test what a deploy would do, with no server, by planning against a
// State built by hand: State{} for hosts that run nothing, StateRunning for
// hosts that run a release (see the Examples for NewPlan and StateRunning).
// A plan for the release that already runs is empty, with
// ErrNothingToDeploy.
package deploy
