package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/slipwayhq/slipway/deploy/kamal"
)

// runImportKamal writes the Go of a Kamal project's App (kamal.Generate)
// to -out, refusing to overwrite a file, and prints the import's report.
func runImportKamal(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("slipway import-kamal", flag.ContinueOnError)
	fl.SetOutput(stderr)
	dest := fl.String("dest", "", "write only this destination's App, with no overlays (default: the base and one overlay per destination)")
	out := fl.String("out", "", "the Go file to write (default: DIR/deployment/app.go)")
	pkg := fl.String("package", kamal.DefaultPackage, "the package of the file")
	if err := fl.Parse(args); err != nil {
		return exitInvalid
	}
	if fl.NArg() > 1 {
		fmt.Fprintf(stderr, "slipway import-kamal: one project directory, got %q\n", fl.Args())
		return exitInvalid
	}
	dir := "."
	if fl.NArg() == 1 {
		dir = fl.Arg(0)
	}
	if *out == "" {
		*out = filepath.Join(dir, deploymentDir, "app.go")
	}
	if _, err := os.Lstat(*out); !errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(stderr, "slipway import-kamal: %s exists; move it away or pass -out, nothing was written\n", *out)
		return exitInvalid
	}

	// The generated paths start where the file is: the deployment
	// module's root, where `mage deploy` runs.
	var src bytes.Buffer
	report, err := kamal.Generate(dir, &src, kamal.GenerateOptions{Package: *pkg, Dir: filepath.Dir(*out), Destination: *dest})
	if report != nil {
		fmt.Fprint(stdout, report)
	}
	if err != nil {
		fmt.Fprintf(stderr, "slipway import-kamal: %v\nnothing was written\n", err)
		return exitInvalid
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		fmt.Fprintf(stderr, "slipway import-kamal: %v\n", err)
		return exitFailed
	}
	// O_EXCL: a file that appeared since the check is not overwritten.
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err == nil {
		_, err = f.Write(src.Bytes())
		err = errors.Join(err, f.Close())
	}
	if err != nil {
		fmt.Fprintf(stderr, "slipway import-kamal: write %s: %v\n", *out, err)
		return exitFailed
	}
	fmt.Fprintf(stdout, "\nwrote %s\n", *out)
	mod := filepath.Dir(*out)
	fmt.Fprintf(stdout, "\nNext, in %s/:\n", mod)
	if _, err := os.Stat(filepath.Join(mod, "go.mod")); err != nil {
		fmt.Fprintf(stdout, "  go mod init example.com/you/deployment && go get %s@latest && go mod tidy\n", sdkModule)
	}
	fmt.Fprintf(stdout, "  read the comment above App: each Kamal key not carried over, and the notes\n")
	fmt.Fprintf(stdout, "  port the hook stubs, if any, and set App.Hooks\n")
	fmt.Fprintf(stdout, "  a magefile importing the ready targets: //mage:import %s/targets, with targets.Use(targets.Config{App: App})\n", sdkModule)
	fmt.Fprintf(stdout, "  go vet ./... && go test ./...\n")
	return 0
}
