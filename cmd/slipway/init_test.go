package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"go/format"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newApp writes a small Go module at a fresh directory: go.mod for
// module, and each file of src (path -> content). It returns the directory.
func newApp(t *testing.T, module string, src map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	src["go.mod"] = "module " + module + "\n\ngo 1.26.0\n"
	for name, content := range src {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	return dir
}

const mainGo = "package main\n\nfunc main() {}\n"

// tree reads every file under dir, by its slash path, so a test can
// compare a repository before and after.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = string(b)
		return err
	}))
	return files
}

// initIn runs `slipway init` with args in dir and returns its exit code,
// stdout and stderr.
func initIn(dir string, args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := run(append([]string{"init", "-dir", dir}, args...), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// goIn runs the go command in dir and fails the test with its output when
// it fails.
func goIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go %s in %s:\n%s", strings.Join(args, " "), dir, out)
	return string(out)
}

// The whole first hour, as a user would run it: init in a fresh module
// with a small main package, then the scaffold compiles, its plan test
// passes and `mage plan -offline` prints a plan; a second init refuses
// and changes nothing.
func TestInitScaffoldCompilesAndItsPlanTestPasses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the scaffold with the go command")
	}
	root, err := filepath.Abs("../..") // this repository: the SDK the scaffold requires
	require.NoError(t, err)
	// Offline: every module the scaffold builds with is this repository's,
	// in the warm module cache; -mod=mod lets go fill go.sum from it as it
	// builds. init's own go mod tidy (-tidy) is left out: tidy also wants
	// the modules of the SDK's dependencies' tests, which a cache warmed
	// by builds need not hold.
	t.Setenv("GOFLAGS", strings.TrimSpace(os.Getenv("GOFLAGS")+" -mod=mod"))
	t.Setenv("GOPROXY", "off")
	t.Setenv("GOWORK", "off")

	app := newApp(t, "example.com/acme/shop", map[string]string{"main.go": mainGo})
	appMod, err := os.ReadFile(filepath.Join(app, "go.mod"))
	require.NoError(t, err)

	code, stdout, stderr := initIn(app, "-replace", root, "-tidy=false")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	// Without tidy and without a proxy, go can load only what the SDK's own
	// build loaded: its requirements at its versions (go.mod) and their
	// hashes (go.sum), which a fresh machine's cache holds and nothing
	// older. Tidy would write the same into a user's scaffold.
	var sdk struct {
		Require []struct{ Path, Version string }
	}
	require.NoError(t, json.Unmarshal([]byte(goIn(t, root, "mod", "edit", "-json")), &sdk))
	edit := []string{"mod", "edit"}
	for _, r := range sdk.Require {
		edit = append(edit, "-require="+r.Path+"@"+r.Version)
	}
	goIn(t, filepath.Join(app, "deployment"), edit...)
	sums, err := os.ReadFile(filepath.Join(root, "go.sum"))
	require.NoError(t, err)
	f, err := os.OpenFile(filepath.Join(app, "deployment", "go.sum"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	require.NoError(t, err)
	_, err = f.Write(sums)
	require.NoError(t, errors.Join(err, f.Close()))
	for _, f := range files {
		assert.Contains(t, stdout, "wrote "+f.path)
	}
	assert.Contains(t, stdout, "go test ./...", "it prints the next commands")

	after, err := os.ReadFile(filepath.Join(app, "go.mod"))
	require.NoError(t, err)
	assert.Equal(t, string(appMod), string(after), "the app's own go.mod is untouched")

	dep := filepath.Join(app, deploymentDir)
	for name, src := range tree(t, dep) {
		if strings.HasSuffix(name, ".go") {
			formatted, err := format.Source([]byte(src))
			require.NoError(t, err, name)
			assert.Equal(t, string(formatted), src, "%s is gofmt'd", name)
		}
	}
	goIn(t, dep, "vet", "-tags", "mage", "./...")
	out := goIn(t, dep, "test", "-count=1", "./...")
	assert.Contains(t, out, "ok  \texample.com/acme/shop/deployment")
	out = goIn(t, dep, "run", "mage.go", "-l")
	assert.Contains(t, out, "plan", "the ready targets are imported")
	out = goIn(t, dep, "run", "mage.go", "plan", "-offline", "-version=v1")
	assert.Contains(t, out, "192.0.2.10", "the plan names the placeholder server")
	assert.Contains(t, out, "shop-web-v1", "the plan starts the release's container")

	before := tree(t, app)
	code, stdout, stderr = initIn(app, "-replace", root, "-tidy=false")
	assert.Equal(t, exitInvalid, code, "a second init refuses")
	assert.Contains(t, stderr, "deployment/go.mod exists", "it names the file")
	assert.Empty(t, stdout)
	assert.Equal(t, before, tree(t, app), "and changes nothing")
}

func TestInitRefuses(t *testing.T) {
	t.Run("to overwrite any file it would write, and then writes nothing", func(t *testing.T) {
		for _, f := range files {
			app := newApp(t, "example.com/shop", map[string]string{"main.go": mainGo, f.path: "mine\n"})
			before := tree(t, app)
			code, _, stderr := initIn(app, "-tidy=false")
			assert.Equal(t, exitInvalid, code, f.path)
			assert.Contains(t, stderr, f.path+" exists", "it names the file")
			assert.Equal(t, before, tree(t, app), "%s: nothing written, .gitignore included", f.path)
		}
	})
	t.Run("to write into a deployment directory that holds anything", func(t *testing.T) {
		app := newApp(t, "example.com/shop", map[string]string{"main.go": mainGo, "deployment/k8s.yaml": "kind: Pod\n"})
		before := tree(t, app)
		code, _, stderr := initIn(app, "-tidy=false")
		assert.Equal(t, exitInvalid, code)
		assert.Contains(t, stderr, "deployment/ exists and holds k8s.yaml")
		assert.Equal(t, before, tree(t, app))
	})
	t.Run("outside a module", func(t *testing.T) {
		dir := t.TempDir()
		code, _, stderr := initIn(dir, "-tidy=false")
		assert.Equal(t, exitInvalid, code)
		assert.Contains(t, stderr, "no go.mod")
		assert.Empty(t, tree(t, dir))
	})
	t.Run("when there is no main package", func(t *testing.T) {
		app := newApp(t, "example.com/lib", map[string]string{"lib.go": "package lib\n"})
		code, _, stderr := initIn(app, "-tidy=false")
		assert.Equal(t, exitInvalid, code)
		assert.Contains(t, stderr, "no main package")
	})
	t.Run("to guess between two commands", func(t *testing.T) {
		app := newApp(t, "example.com/shop", map[string]string{"cmd/api/main.go": mainGo, "cmd/worker/main.go": mainGo})
		code, _, stderr := initIn(app, "-tidy=false")
		assert.Equal(t, exitInvalid, code)
		assert.Contains(t, stderr, "./cmd/api, ./cmd/worker: pass -package")
	})
	t.Run("a service name Slipway would refuse", func(t *testing.T) {
		app := newApp(t, "example.com/shop", map[string]string{"main.go": mainGo})
		code, _, stderr := initIn(app, "-tidy=false", "-service", "Shop_App")
		assert.Equal(t, exitInvalid, code)
		assert.Contains(t, stderr, `-service "Shop_App"`)
	})
}

func TestDetect(t *testing.T) {
	tests := []struct {
		name         string
		src          map[string]string
		pkg, service string
		want         scaffold
	}{
		{"the module root's main package, named after the module", map[string]string{"main.go": mainGo, "cmd/tool/main.go": mainGo},
			"", "", scaffold{Module: "example.com/acme/Web_Shop", Package: ".", Service: "web-shop"}},
		{"the one command under cmd/, named after it", map[string]string{"lib.go": "package shop\n", "cmd/shopd/main.go": mainGo, "cmd/notes.txt": "x"},
			"", "", scaffold{Module: "example.com/acme/Web_Shop", Package: "./cmd/shopd", Service: "shopd"}},
		{"the package asked for", map[string]string{"cmd/api/main.go": mainGo, "cmd/worker/main.go": mainGo},
			"cmd/worker", "", scaffold{Module: "example.com/acme/Web_Shop", Package: "./cmd/worker", Service: "worker"}},
		{"the service asked for", map[string]string{"main.go": mainGo},
			"", "shop", scaffold{Module: "example.com/acme/Web_Shop", Package: ".", Service: "shop"}},
		{"a main package only for tests is none", map[string]string{"main_test.go": mainGo, "cmd/a/main.go": mainGo},
			"", "", scaffold{Module: "example.com/acme/Web_Shop", Package: "./cmd/a", Service: "a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := newApp(t, "example.com/acme/Web_Shop", tt.src)
			got, err := detect(app, tt.pkg, tt.service)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestModulePath(t *testing.T) {
	for mod, want := range map[string]string{
		"module example.com/a\n":                      "example.com/a",
		"// comment\nmodule   example.com/b // c\n":   "example.com/b",
		"module \"example.com/c\"\n\ngo 1.26\n":       "example.com/c",
		"go 1.26\nmodulex example.com/d\n":            "",
		"\ufeffmodule example.com/e\n"[3:] + "go 1\n": "example.com/e",
	} {
		assert.Equal(t, want, modulePath([]byte(mod)), "%q", mod)
	}
}

func TestIgnoreSecrets(t *testing.T) {
	t.Run("appends to a .gitignore without a final newline, once", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), ".gitignore")
		require.NoError(t, os.WriteFile(p, []byte("bin/"), 0o644))
		added, err := ignoreSecrets(p)
		require.NoError(t, err)
		assert.True(t, added)
		added, err = ignoreSecrets(p)
		require.NoError(t, err)
		assert.False(t, added, "the second time it is there already")
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		assert.Equal(t, "bin/\n# Slipway's secret values (slipway init)\n**/.slipway/secrets\n", string(b))
	})
	t.Run("keeps deployment/.slipway/secrets out of git", func(t *testing.T) {
		if _, err := exec.LookPath("git"); err != nil {
			t.Skip("no git")
		}
		dir := t.TempDir()
		_, err := ignoreSecrets(filepath.Join(dir, ".gitignore"))
		require.NoError(t, err)
		goGit := func(args ...string) error {
			cmd := exec.Command("git", args...)
			cmd.Dir = dir
			return cmd.Run()
		}
		require.NoError(t, goGit("init", "-q"))
		for _, p := range []string{"deployment/.slipway/secrets", ".slipway/secrets"} {
			assert.NoError(t, goGit("check-ignore", "-q", p), "%s is ignored", p)
		}
		assert.Error(t, goGit("check-ignore", "-q", "deployment/app.go"), "the rest is not")
	})
}

func TestVersionOf(t *testing.T) {
	tests := []struct {
		main        debug.Module
		want        string
		placeholder bool
	}{
		{debug.Module{Path: sdkModule, Version: "v0.4.1"}, "v0.4.1", false},
		{debug.Module{Path: sdkModule, Version: "v0.4.2-0.20261201120000-abcdefabcdef"}, "v0.4.2-0.20261201120000-abcdefabcdef", false},
		{debug.Module{Path: sdkModule, Version: "(devel)"}, placeholderVersion, true},
		{debug.Module{Path: sdkModule, Version: "v0.4.2-0.20261201120000-abcdefabcdef+dirty"}, placeholderVersion, true},
		{debug.Module{Path: "example.com/fork", Version: "v1.0.0"}, placeholderVersion, true},
	}
	for _, tt := range tests {
		v, placeholder := versionOf(tt.main)
		assert.Equal(t, tt.want, v, "%+v", tt.main)
		assert.Equal(t, tt.placeholder, placeholder, "%+v", tt.main)
	}
}
