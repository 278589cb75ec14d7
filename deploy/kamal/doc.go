// Package kamal reads a Kamal project (config/deploy.yml, its destination
// overlays and .kamal/secrets) into a deploy.App, for a team moving from
// Kamal to Slipway. It is the only package of the SDK that reads YAML, so
// a program that builds its App in Go links no YAML parser.
//
// # Importing
//
// Load takes the project directory (or a YAML file) and a destination,
// and returns the App, a Report and an error:
//
//	app, report, err := kamal.Load(".", "production")
//	if err != nil {
//		return err // a *kamal.Error with file and line, or the App's *deploy.ValidationError
//	}
//	fmt.Print(report) // every key not carried over, by its YAML path, with what to do
//
// The Report lists each unsupported Key with its file and line and a
// reason, notes where a value's meaning shifts a little, and the names
// (never the values) the secrets files set. An import reads, and never
// runs: ERB is not evaluated, hook scripts are not run, and a
// "$(command)" in .kamal/secrets is reported instead of executed.
//
// # Secrets
//
// The imported App's Secrets is a secret.Chain of Secrets (Kamal's
// secrets files, with their $NAME references) and secret.Env; a Kamal
// alias (NAME:ALIAS) gives the container NAME the value of ALIAS.
// deploy.ResolveSecrets resolves them as for any App.
//
// # Limits
//
// A config file and a secrets file may hold at most MaxFileSize bytes,
// MaxNodes YAML nodes, MaxValues values once aliases and "<<" merges are
// followed, and nest MaxDepth deep; a file past a limit fails at once
// with a *Error naming it, so a hostile file costs milliseconds.

package kamal
