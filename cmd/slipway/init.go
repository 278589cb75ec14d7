package main

import (
	"bufio"
	"bytes"
	"embed"
	"errors"
	"flag"
	"fmt"
	"go/build"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"text/template"
)

// Exit codes, as Slipway's targets use them.
const (
	exitFailed  = 1 // the files were written, a later step failed
	exitInvalid = 2 // nothing was written: a file exists, or the repository does not fit
)

// sdkModule is the module whose version the deployment module requires.
const sdkModule = "github.com/slipwayhq/slipway"

// placeholderVersion is required when init cannot tell its own version
// (it was built from a checkout, not run as `go run ...@VERSION`); the
// go.mod it writes says so and how to require a release.
const placeholderVersion = "v0.0.0"

// deploymentDir is where init writes, relative to the app's module root.
const deploymentDir = "deployment"

// gitignoreLine keeps the secrets file out of git at any depth: the App
// reads .slipway/secrets in deployment/, and a pattern with a slash inside
// matches only beside its .gitignore unless it starts with **/.
const gitignoreLine = "**/.slipway/secrets"

//go:embed templates
var templates embed.FS

// files maps each file init writes (relative to the app's module root) to
// its template in templates/.
var files = []struct{ path, tmpl string }{
	{"deployment/go.mod", "go.mod.tmpl"},
	{"deployment/app.go", "app.go.tmpl"},
	{"deployment/app_test.go", "app_test.go.tmpl"},
	{"deployment/mage.go", "mage.go.tmpl"},
	{"deployment/magefiles/deploy.go", "magefiles/deploy.go.tmpl"},
}

// scaffold is what the templates are filled with.
type scaffold struct {
	Module         string // the app's module path
	Package        string // the main package, relative to the module root ("." or "./cmd/x")
	Service        string // the service's name
	Version        string // the SDK version the deployment module requires
	VersionUnknown bool   // Version is placeholderVersion
	Replace        string // a local Slipway checkout, or ""
}

// refusal is an error that leaves the repository as it was (exit 2).
type refusal struct{ msg string }

func (r *refusal) Error() string { return r.msg }

func refusef(format string, args ...any) error { return &refusal{fmt.Sprintf(format, args...)} }

// runInit parses init's flags, writes the scaffold and prints what it
// wrote and what to run next.
func runInit(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("slipway init", flag.ContinueOnError)
	fl.SetOutput(stderr)
	dir := fl.String("dir", ".", "the app's module root, holding its go.mod")
	service := fl.String("service", "", "the service's name (default: the main package's)")
	pkg := fl.String("package", "", "the main package to deploy, such as ./cmd/api (default: detected)")
	replace := fl.String("replace", os.Getenv("SLIPWAY_INIT_REPLACE"), "a local Slipway checkout to replace the SDK with (env SLIPWAY_INIT_REPLACE)")
	tidy := fl.Bool("tidy", true, "run go mod tidy in deployment/ to fill its go.sum")
	if err := fl.Parse(args); err != nil {
		return exitInvalid
	}
	if fl.NArg() > 0 {
		fmt.Fprintf(stderr, "slipway init: unexpected arguments %q\n", fl.Args())
		return exitInvalid
	}

	s, err := detect(*dir, *pkg, *service)
	if err == nil && *replace != "" {
		s.Replace, err = filepath.Abs(*replace)
	}
	var written []string
	if err == nil {
		s.Version, s.VersionUnknown = sdkVersion()
		written, err = write(*dir, s)
	}
	if err != nil {
		fmt.Fprintf(stderr, "slipway init: %v\n", err)
		if errors.As(err, new(*refusal)) {
			return exitInvalid
		}
		return exitFailed
	}

	fmt.Fprintf(stdout, "slipway init: %s (%s, main package %s)\n", s.Service, s.Module, s.Package)
	for _, w := range written {
		fmt.Fprintf(stdout, "  wrote %s\n", w)
	}
	code := 0
	if *tidy {
		cmd := exec.Command("go", "mod", "tidy")
		cmd.Dir = filepath.Join(*dir, deploymentDir)
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(stderr, "slipway init: go mod tidy in %s: %v\n%s", deploymentDir, err, out)
			code = exitFailed
		} else {
			fmt.Fprintf(stdout, "  ran go mod tidy in %s\n", deploymentDir)
		}
	}
	if s.VersionUnknown {
		fmt.Fprintf(stdout, "\n%s/go.mod requires %s %s, a placeholder: slipway init ran from a checkout.\n", deploymentDir, sdkModule, s.Version)
	}
	fmt.Fprintf(stdout, "\nNext, in %s/:\n", deploymentDir)
	fmt.Fprintf(stdout, "  edit app.go: the servers (192.0.2.10 is a placeholder) and the registry\n")
	if !*tidy || code != 0 {
		fmt.Fprintf(stdout, "  go mod tidy\n")
	}
	fmt.Fprintf(stdout, "  go test ./...                   # the plan test, no server needed\n")
	fmt.Fprintf(stdout, "  go run mage.go plan -offline    # what a deploy would do, no server needed\n")
	fmt.Fprintf(stdout, "  go run mage.go -l               # the deploy targets\n")
	fmt.Fprintf(stdout, "  go run mage.go deploy           # go build -o bin/mage mage.go keeps the exit codes\n")
	return code
}

// detect reads the app's module path and picks its main package: the
// module root's when it is package main, else the one main package under
// cmd/. The service is named after that package unless service is set.
func detect(dir, pkg, service string) (scaffold, error) {
	mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return scaffold{}, refusef("no go.mod in %s: run slipway init in the app's module root, or pass -dir", dir)
	}
	s := scaffold{Module: modulePath(mod)}
	if s.Module == "" {
		return scaffold{}, refusef("%s has no module line", filepath.Join(dir, "go.mod"))
	}

	if pkg == "" {
		mains, err := mainPackages(dir)
		if err != nil {
			return scaffold{}, err
		}
		switch {
		case len(mains) == 0:
			return scaffold{}, refusef("no main package in %s or %s/cmd/*: pass -package", dir, dir)
		case len(mains) > 1:
			return scaffold{}, refusef("main packages %s: pass -package to pick the one to deploy", strings.Join(mains, ", "))
		}
		pkg = mains[0]
	} else {
		pkg = "./" + filepath.ToSlash(filepath.Clean(pkg))
		if !isMain(filepath.Join(dir, pkg)) {
			return scaffold{}, refusef("-package %s: not a main package in %s", pkg, dir)
		}
	}
	s.Package = strings.TrimSuffix(pkg, "/.")
	if s.Package == "./." {
		s.Package = "."
	}

	if service == "" {
		base := s.Module
		if s.Package != "." {
			base = s.Package
		}
		service = serviceName(base[strings.LastIndex(base, "/")+1:])
	}
	if serviceName(service) != service || service == "" {
		return scaffold{}, refusef("-service %q: lower-case letters, digits and dashes, starting and ending with a letter or digit", service)
	}
	s.Service = service
	return s, nil
}

// mainPackages lists the module root's package and those in cmd/* that
// are package main, as "." and "./cmd/x".
func mainPackages(dir string) ([]string, error) {
	var mains []string
	if isMain(dir) {
		mains = append(mains, ".")
	}
	if len(mains) == 1 {
		return mains, nil // the root's main package is the app
	}
	entries, err := os.ReadDir(filepath.Join(dir, "cmd"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if isMain(filepath.Join(dir, "cmd", e.Name())) {
			mains = append(mains, "./cmd/"+e.Name())
		}
	}
	return mains, nil
}

// isMain reports whether dir holds a main package for this platform; a
// directory with only tests named main holds none.
func isMain(dir string) bool {
	p, err := build.ImportDir(dir, 0)
	return err == nil && p.Name == "main" && len(p.GoFiles) > 0
}

// modulePath is the path of go.mod's module line ("" when it has none).
func modulePath(mod []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(mod))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if i := strings.Index(line, "//"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		rest, ok := strings.CutPrefix(line, "module")
		if !ok || rest == "" || (rest[0] != ' ' && rest[0] != '\t' && rest[0] != '"') {
			continue
		}
		rest = strings.TrimSpace(rest)
		if p, err := strconv.Unquote(rest); err == nil {
			return p
		}
		return rest
	}
	return ""
}

// serviceName turns a package's name into a service name Slipway accepts:
// lower-case letters, digits and dashes, no dash at either end.
func serviceName(s string) string {
	s = strings.Map(func(c rune) rune {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-':
			return c
		case c >= 'A' && c <= 'Z':
			return c + 'a' - 'A'
		}
		return '-'
	}, s)
	return strings.Trim(s, "-")
}

// sdkVersion is the Slipway version this program was built from, when it
// ran as `go run github.com/slipwayhq/slipway/cmd/slipway@VERSION`; from a
// checkout it is placeholderVersion, and the second result is true.
func sdkVersion() (string, bool) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return placeholderVersion, true
	}
	return versionOf(bi.Main)
}

// versionOf is the version of Slipway to require, given the module the
// program was built from.
func versionOf(main debug.Module) (string, bool) {
	v := main.Version
	// A checkout's build stamps "(devel)", or a pseudo-version with
	// +dirty, neither of which a module proxy serves.
	if main.Path != sdkModule || v == "" || v == "(devel)" || strings.Contains(v, "+") {
		return placeholderVersion, true
	}
	return v, false
}

// write renders every file and writes it under dir, after checking that
// none exists, and adds gitignoreLine to dir's .gitignore. A file that
// exists refuses the whole scaffold before anything is written.
func write(dir string, s scaffold) ([]string, error) {
	tmpl, err := template.ParseFS(templates, "templates/*.tmpl", "templates/magefiles/*.tmpl")
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		if _, err := os.Lstat(filepath.Join(dir, f.path)); err == nil {
			return nil, refusef("%s exists: init writes over nothing (move it aside to start again)", f.path)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	// A deployment/ that holds anything would lose it to the new module
	// (a nested go.mod takes its directory out of the app's module).
	if entries, err := os.ReadDir(filepath.Join(dir, deploymentDir)); err == nil && len(entries) > 0 {
		return nil, refusef("%s/ exists and holds %s: init writes a new module there, which would take them out of the app's module", deploymentDir, entries[0].Name())
	}
	rendered := make([][]byte, len(files))
	for i, f := range files {
		var b bytes.Buffer
		if err := tmpl.ExecuteTemplate(&b, filepath.Base(f.tmpl), s); err != nil {
			return nil, fmt.Errorf("render %s: %w", f.path, err)
		}
		rendered[i] = b.Bytes()
	}

	var written []string
	for i, f := range files {
		p := filepath.Join(dir, f.path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return written, err
		}
		// O_EXCL: a file that appeared since the check is not overwritten either.
		out, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return written, err
		}
		_, err = out.Write(rendered[i])
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return written, err
		}
		written = append(written, f.path)
	}

	added, err := ignoreSecrets(filepath.Join(dir, ".gitignore"))
	if err != nil {
		return written, err
	}
	if added {
		written = append(written, ".gitignore (added "+gitignoreLine+")")
	}
	return written, nil
}

// ignoreSecrets appends gitignoreLine to the .gitignore at path unless a
// line already says it; it reports whether it added the line.
func ignoreSecrets(path string) (bool, error) {
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	lines := strings.Split(string(old), "\n")
	if slices.ContainsFunc(lines, func(l string) bool {
		l = strings.TrimSpace(l)
		return l == gitignoreLine || l == ".slipway/" || l == ".slipway" || l == "**/.slipway/" || l == "**/.slipway"
	}) {
		return false, nil
	}
	add := "# Slipway's secret values (slipway init)\n" + gitignoreLine + "\n"
	if len(old) > 0 && !bytes.HasSuffix(old, []byte("\n")) {
		add = "\n" + add
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return false, err
	}
	_, err = f.WriteString(add)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err == nil, err
}
