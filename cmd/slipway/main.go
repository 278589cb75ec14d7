// Command slipway is Slipway's command line. Its subcommand init
// starts Slipway in an existing Go repository:
//
//	go run github.com/slipwayhq/slipway/cmd/slipway@latest init
//
// run where the app's go.mod is, writes a nested deployment module
// (deployment/: go.mod, app.go with the App, app_test.go with a plan test,
// mage.go and magefiles/deploy.go importing the ready targets) and adds
// .slipway/secrets to the repository's .gitignore. The app's own go.mod is
// not touched. It never overwrites a file: when one it would write exists,
// it names it, writes nothing and exits 2.
//
// Flags of init:
//
//	-dir DIR       the app's module root (default: the current directory)
//	-service NAME  the service's name (default: from the main package)
//	-package PKG   the main package to deploy, such as ./cmd/api (default: detected)
//	-replace DIR   add replace directives to a local Slipway checkout, for Slipway's own
//	               tests (default: $SLIPWAY_INIT_REPLACE)
//	-tidy=false    skip `go mod tidy` in deployment/
//
// Exit codes: 0 written, 2 refused (a file exists, or no main package or
// go.mod was found), 1 when go mod tidy failed after the files were written.
//
// The subcommand import-kamal leaves Kamal behind: it reads a Kamal
// project (config/deploy.yml, its destinations, .kamal/secrets and
// hooks) as kamal.Load does and writes its App as Go the team owns
// (kamal.Generate), then prints the import's report:
//
//	slipway import-kamal [-dest NAME] [-out deployment/app.go] [-package deployment] [DIR]
//
// DIR is the Kamal project (default: the current directory) and -out
// defaults to DIR/deployment/app.go; the paths the file holds start from
// -out's directory, the deployment module's root. It never overwrites a
// file: when -out exists it says so, writes nothing and exits 2; a config
// Kamal's importer refuses exits 2 with nothing written too.
package main

import (
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// usage is what slipway prints when it is run without a known subcommand.
const usage = `usage: slipway init [-dir DIR] [-service NAME] [-package PKG] [-replace DIR] [-tidy=false]
       slipway import-kamal [-dest NAME] [-out deployment/app.go] [-package deployment] [DIR]

init writes the deployment module (deployment/) for the Go app in DIR.
import-kamal writes the App of the Kamal project in DIR as Go.
`

// run runs one subcommand with its arguments and returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitInvalid
	}
	switch args[0] {
	case "init":
		return runInit(args[1:], stdout, stderr)
	case "import-kamal":
		return runImportKamal(args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "slipway: unknown command %q\n%s", args[0], usage)
		return exitInvalid
	}
}
