// Package targets holds Slipway's ready Mage targets: deploy, plan,
// rollback, the deploy lock, the replica checks and drills, recovery and
// the rest, configured once with the app they work on.
//
// # Importing the targets
//
// An app's magefile imports the package with Mage's import comment and
// hands it a Config from init():
//
//	//go:build mage
//
//	package main
//
//	import (
//		//mage:import
//		"github.com/slipwayhq/slipway/targets"
//	)
//
//	func init() { targets.Use(targets.Config{App: App}) }
//
// where App is the app's deploy.App, declared beside it (the hello
// example keeps its App in a package, examples/hello/deployment, that its
// magefile and its plan test share). `mage -l` then lists the targets.
//
// # Configuring
//
// Config is the whole configuration, and each zero field means a
// documented default:
//
//   - App is required. Its Databases are what the replica targets,
//     app:recover, app:drill and runbook work on; nothing else declares
//     a database.
//   - Options are the session options: output, performer, lock wait,
//     timeouts. The zero Options are deploy's defaults (os.Stdout,
//     user@machine, fail at once on a held lock).
//   - Drills are the checks the drills run beyond restoring and
//     integrity_check, and their log: Queries for replica:drill, Smoke
//     and DropEnv for app:drill, Log for both (DefaultDrillLog when "").
//
// Use checks the Config (Config.Validate) when it is called, but an
// init() has no way to fail, so the problems wait for the first target:
// it exits with ExitInvalid and every problem with its field
// ("drills.queries[0].sql: must not be empty ..."), before it connects
// to anything. A plan test can call Config.Validate itself. The App is
// validated for the -destination each target is given, by deploy.
//
// The Config in use is the package's one variable. Mage's targets are
// package-level functions whose parameters are their command-line flags,
// so there is no value to hang a configuration on; Use sets it, and a
// second Use replaces it whole.
//
// # Running the targets
//
// Flags come after positional arguments, as Mage requires:
// `mage rollback v41 -destination=staging`. Every target takes
// -destination, which picks one of App.Destinations. The targets are:
//
//   - before deploying: check [-version -online], every problem of the
//     config at once, offline (exit 2), and with -online each host's
//     SSH, Docker, kamal-proxy, lock, disk and image delivery
//   - releases: deploy [-version], plan [-version -offline], rollback
//     VERSION; plan -offline plans against empty hosts, dialling none
//   - what runs where: versions, details, logs [-tail -follow -role -host],
//     exec CMD [-reuse -i -role -host], audit [-n], prune; exec -i gives
//     the command a terminal (a shell, a REPL) and exits with its code
//   - a fresh server: server:setup [-dry] installs and starts Docker
//     (Debian, Ubuntu), makes the network and boots kamal-proxy
//   - the deploy lock: lock:status, lock:acquire [-message],
//     lock:release [-force]
//   - kamal-proxy: proxy:reboot [-host], one host at a time with its
//     routes kept; proxy:logs [-tail -follow -host]; proxy:details, its
//     image, state, drift from the App and routes on every web host
//   - the data: replica:verify [-maxage -maxlag], replica:drill [-at -host],
//     replica:restore [-out -at], app:recover [-at -message -host -database],
//     app:drill [-host], runbook
//   - incidents: app:maintenance [-message -role], app:live [-role]
//   - taking the app off its servers: remove [-confirm], which prints what
//     goes (never a volume) and removes only with -confirm
//
// exec's CMD is split into arguments as a POSIX shell splits words, with
// quotes and backslashes, and nothing expanded on this machine: `mage
// exec "sh -c 'echo $HOME'"` hands the $HOME to the container's shell,
// and an unquoted $VAR, $(...), pipe or redirection is refused with
// ExitInvalid, saying to single-quote it inside sh -c.
//
// deploy, check and plan take the git commit of the directory Mage runs in as
// the version unless -version is given (with -dirty-<hash of the changes> when the tree has
// uncommitted changes).
//
// # Exit codes
//
// Scripts can tell what happened: ExitGateFailed (3) when a release did
// not pass its health gate (the previous release kept serving),
// ExitLocked (4) when another deploy holds the lock, ExitInvalid (2) for
// a bad App, Config or -version or an unknown -destination, ExitFailed (1)
// for anything else. The message Mage prints is redacted with the
// secrets of every session the targets opened.
//
// `go run` exits 1 whatever its program's exit code, so `go run mage.go
// deploy` loses the code (it prints "exit status 3"). To keep it, run an
// installed mage, or build the zero-install mage.go once and run that:
//
//	go build -o bin/mage mage.go && bin/mage deploy
package targets
