// Package kamal reads a Kamal project (config/deploy.yml, its destination
// overlays and .kamal/secrets) into a deploy.App, for a team moving from
// Kamal to Slipway. It is the only package of the SDK that reads YAML, so
// a program that builds its App in Go links no YAML parser.
//
// # Importing
//
// LoadAll takes the project directory (or a YAML file) and reads the
// base with every destination overlay beside it; Load reads the base
// with one destination ("" for none). Each returns the App, a Report
// and an error:
//
//	app, report, err := kamal.LoadAll(".")
//	if err != nil {
//		return err // a *kamal.Error with file and line, or the App's *deploy.ValidationError
//	}
//	fmt.Print(report) // every key not carried over, by its YAML path, with what to do
//	prod, err := app.ForDestination("production") // what kamal deploy -d production deploys
//
// The Report lists each Key not carried over with its file and line and
// a reason, apart from what Slipway does not need (CLI aliases, which
// Mage targets replace, and ERB statements), notes where a value's
// meaning shifts a little, the environment variables the ERB read and
// the names (never the values) the secrets files set.
//
// # ERB
//
// Kamal renders its config with Ruby's ERB before it reads the YAML,
// and so does the import, for the idioms configs use to read the
// environment: ENV["X"], ENV.fetch("X"), ENV.fetch("X", "default"),
// ENV.fetch("X") { "default" } and ENV["X"] || "default", with single or
// double quotes, looked up with os.LookupEnv (Importer.LookupEnv for
// another source). An import reads, and never runs: any other Ruby is
// left alone. A statement (<% %>) is dropped, keeping a conditional's
// first branch; other output (<%= %>) leaves its key out, reported with
// its file and line; so ERB never stops an import. A variable that is
// not set and has no default leaves its value empty, and the
// validation error that may follow, an *EnvError, names it. Hook
// scripts are not run either, and a "$(command)" in .kamal/secrets is
// reported instead of executed.
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
