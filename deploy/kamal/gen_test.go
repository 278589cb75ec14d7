package kamal_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy/kamal"
)

// corpusConfigs lists the Kamal projects of testdata: every directory
// holding config/deploy.yml, at the top or under testdata/corpus, and
// every YAML file of testdata/corpus that is no destination overlay.
func corpusConfigs(t *testing.T) []string {
	t.Helper()
	var configs []string
	for _, pattern := range []string{"testdata/*/config/deploy.yml", "testdata/corpus/*/config/deploy.yml"} {
		m, err := filepath.Glob(pattern)
		require.NoError(t, err)
		for _, f := range m {
			configs = append(configs, filepath.Dir(filepath.Dir(f)))
		}
	}
	files, err := filepath.Glob("testdata/corpus/*.yml")
	require.NoError(t, err)
	for _, f := range files {
		if base := strings.TrimSuffix(filepath.Base(f), ".yml"); !strings.Contains(base, ".") {
			configs = append(configs, f)
		}
	}
	slices.Sort(configs)
	require.NotEmpty(t, configs)
	return configs
}

// destinationsOf lists the overlays beside a project's config.
func destinationsOf(t *testing.T, path string) []string {
	t.Helper()
	file := path
	if !strings.HasSuffix(path, ".yml") {
		file = filepath.Join(path, "config", "deploy.yml")
	}
	m, err := filepath.Glob(strings.TrimSuffix(file, ".yml") + ".*.yml")
	require.NoError(t, err)
	var dests []string
	for _, f := range m {
		d := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), strings.TrimSuffix(filepath.Base(file), ".yml")+"."), ".yml")
		if !strings.Contains(d, ".") {
			dests = append(dests, d)
		}
	}
	slices.Sort(dests)
	return dests
}

// imports reports whether LoadAll reads the project: its base with
// every destination.
func imports(path string) bool {
	_, _, err := kamal.LoadAll(path)
	return err == nil
}

// corpusEnv is what the ERB of testdata/corpus reads, as corpus_test.go
// gives it: Generate writes the values, and Load reads them again in the
// generated module's test.
var corpusEnv = map[string]string{
	"REGISTRY_USER": "ledgerco", "APP_HOST": "10.0.9.1", "APP_DOMAIN": "ledger.example.com",
	"IDIOM_SERVICE": "idioms", "IDIOM_WEB_HOST": "10.1.0.1", "IDIOM_QUEUES": "critical", "IDIOM_GREETING": "hello: world",
}

// For every config of the corpus that imports, the generated Go
// compiles, vets clean and plans as Load's App does: one temporary
// module holds a package per config and one test comparing them, for
// the base and each destination, against empty hosts, hosts running an
// older release and hosts running this one; its secret sources resolve
// the same secrets.
func TestGeneratedGoPlansAsLoadDoes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and tests a module with the go command")
	}
	root, err := filepath.Abs("../..") // this repository: the SDK the module requires
	require.NoError(t, err)
	t.Setenv("GOFLAGS", strings.TrimSpace(os.Getenv("GOFLAGS")+" -mod=mod"))
	t.Setenv("GOPROXY", "off")
	t.Setenv("GOWORK", "off")
	for _, env := range []string{"SLIPWAY_TEST_SECRET_KEY_BASE", "SLIPWAY_TEST_SESSION_SECRET", "SLIPWAY_TEST_DB_PASSWORD"} {
		t.Setenv(env, "value-of-"+strings.ToLower(env))
	}
	for name, v := range corpusEnv {
		t.Setenv(name, v)
	}

	mod := t.TempDir()
	var table strings.Builder
	var imported, refused []string
	used := map[string]bool{}
	for _, path := range corpusConfigs(t) {
		dests := destinationsOf(t, path)
		var src bytes.Buffer
		pkg := packageName(path, used)
		_, err := kamal.Generate(path, &src, kamal.GenerateOptions{Package: pkg, Dir: mod})
		if !imports(path) {
			require.Error(t, err, "%s: Load refuses it, and so does Generate", path)
			refused = append(refused, path)
			continue
		}
		require.NoError(t, err, path)
		imported = append(imported, path)
		dir := filepath.Join(mod, "cases", pkg)
		require.NoError(t, os.MkdirAll(dir, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "app.go"), src.Bytes(), 0o644))
		abs, err := filepath.Abs(path)
		require.NoError(t, err)
		fmt.Fprintf(&table, "\t{%q, %q, %#v, %s.App},\n", path, abs, dests, pkg)
	}
	t.Logf("%d configs import: %s; %d do not: %s", len(imported), strings.Join(imported, " "), len(refused), strings.Join(refused, " "))
	require.NotEmpty(t, imported)

	var imp strings.Builder
	for _, p := range slices.Sorted(func(yield func(string) bool) {
		for p := range used {
			if !yield(p) {
				return
			}
		}
	}) {
		if _, err := os.Stat(filepath.Join(mod, "cases", p)); err == nil {
			fmt.Fprintf(&imp, "\t%q\n", "example.com/kamalgen/cases/"+p)
		}
	}
	test := strings.Replace(strings.Replace(corpusTest, "\t// CASES\n", table.String(), 1), "\t// IMPORTS\n", imp.String(), 1)
	require.NoError(t, os.WriteFile(filepath.Join(mod, "corpus_test.go"), []byte(test), 0o644))
	writeModule(t, root, mod)

	goIn(t, mod, "vet", "./...")
	out := goIn(t, mod, "test", "-count=1", "-v", ".")
	assert.Contains(t, out, "ok  \texample.com/kamalgen")
	for _, path := range imported {
		assert.Contains(t, out, "--- PASS: TestGeneratedAppsPlanAsLoadDoes/"+strings.ReplaceAll(path, " ", "_"), "every config is compared")
	}
	t.Logf("go test in the generated module:\n%s", lastLines(out, 2))
}

// packageName makes a package name of a config's path, once.
func packageName(path string, used map[string]bool) string {
	base := strings.TrimSuffix(filepath.Base(path), ".yml")
	var b strings.Builder
	for _, r := range strings.ToLower(base) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' && b.Len() > 0 {
			b.WriteRune(r)
		}
	}
	name := "kamal" + b.String()
	for n := 2; used[name]; n++ {
		name = fmt.Sprintf("kamal%s%d", b.String(), n)
	}
	used[name] = true
	return name
}

// writeModule writes the module's go.mod, requiring this repository
// through a replace directive and its requirements at their versions,
// with its go.sum, so that it builds offline from the module cache.
func writeModule(t *testing.T, root, mod string) {
	t.Helper()
	var sdk struct {
		Require []struct{ Path, Version string }
	}
	require.NoError(t, json.Unmarshal([]byte(goIn(t, root, "mod", "edit", "-json")), &sdk))
	var gomod strings.Builder
	fmt.Fprintf(&gomod, "module example.com/kamalgen\n\ngo 1.26.0\n\nrequire github.com/slipwayhq/slipway v0.0.0\n\nreplace github.com/slipwayhq/slipway => %s\n\nrequire (\n", root)
	for _, r := range sdk.Require {
		fmt.Fprintf(&gomod, "\t%s %s\n", r.Path, r.Version)
	}
	gomod.WriteString(")\n")
	require.NoError(t, os.WriteFile(filepath.Join(mod, "go.mod"), []byte(gomod.String()), 0o644))
	sums, err := os.ReadFile(filepath.Join(root, "go.sum"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(mod, "go.sum"), sums, 0o644))
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

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// corpusTest is the test of the generated module: for each config, the
// generated App (cases/<pkg>.App) against kamal.Load's.
const corpusTest = `package corpus

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/deploy/kamal"
	"github.com/slipwayhq/slipway/secret"

	// IMPORTS
)

var cases = []struct {
	name, path string
	dests      []string
	app        deploy.App
}{
	// CASES
}

func TestGeneratedAppsPlanAsLoadDoes(t *testing.T) {
	release := deploy.Release{Version: "v2"}
	for _, c := range cases {
		for _, d := range append([]string{""}, c.dests...) {
			t.Run(c.name+"/"+d, func(t *testing.T) {
				var loaded deploy.App
				var err error
				if d == "" {
					loaded, _, err = kamal.LoadAll(c.path)
				} else {
					loaded, _, err = kamal.Load(c.path, d)
				}
				require.NoError(t, err)
				generated, err := c.app.ForDestination(d)
				require.NoError(t, err)
				if lerr := loaded.Validate(); lerr != nil {
					// A base complete only with its destinations.
					require.NotEmpty(t, c.dests, "only a base with destinations may not validate alone: %v", lerr)
					require.EqualError(t, generated.Validate(), lerr.Error(), "the generated base is invalid the same way")
					return
				}
				require.NoError(t, generated.Validate())
				states := map[string]deploy.State{
					"empty hosts":          {},
					"hosts running v1":     deploy.StateRunning(loaded, "v1"),
					"hosts running v2":     deploy.StateRunning(loaded, "v2"),
				}
				for name, state := range states {
					want, werr := deploy.NewPlan(loaded, release, state)
					got, gerr := deploy.NewPlan(generated, release, state)
					require.Equal(t, errText(werr), errText(gerr), name)
					require.Equal(t, want.String(), got.String(), name)
					require.Equal(t, want, got, name)
					require.Equal(t, want.Steps(), got.Steps(), name)
				}
				for _, n := range secretNames(loaded) {
					wv, werr := loaded.Secrets.Secret(context.Background(), n)
					gv, gerr := generated.Secrets.Secret(context.Background(), n)
					require.Equal(t, werr == nil, gerr == nil, "secret %s resolves in both or in neither", n)
					require.Equal(t, errors.Is(werr, secret.ErrMissing), errors.Is(gerr, secret.ErrMissing), "secret %s", n)
					require.True(t, wv == gv, "secret %s has the same value in both (not shown)", n)
				}
			})
		}
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// secretNames are the secrets the App's containers and registry use.
func secretNames(a deploy.App) []string {
	names := append([]string{}, a.Env.Secret...)
	for _, r := range a.Roles {
		names = append(names, r.Env.Secret...)
	}
	for _, acc := range a.Accessories {
		names = append(names, acc.Env.Secret...)
	}
	if a.Registry != nil && a.Registry.PasswordSecret != "" {
		names = append(names, a.Registry.PasswordSecret)
	}
	return names
}
`

// generated runs Generate on a project and returns the source.
func generated(t *testing.T, path string, opts kamal.GenerateOptions) string {
	t.Helper()
	var b bytes.Buffer
	_, err := kamal.Generate(path, &b, opts)
	require.NoError(t, err)
	return b.String()
}

func TestGenerate(t *testing.T) {
	t.Run("writes servers with only a host as deploy.Hosts", func(t *testing.T) {
		src := generated(t, "testdata/rails", kamal.GenerateOptions{})
		assert.Contains(t, src, `Servers: deploy.Hosts("203.0.113.10"),`)
		assert.Contains(t, src, "package deployment\n", "the deployment module's package by default")
	})
	t.Run("writes Kamal's ssh settings once, in servers()", func(t *testing.T) {
		src := generated(t, "testdata/multirole", kamal.GenerateOptions{Package: "shop"})
		assert.Contains(t, src, "package shop\n")
		assert.Contains(t, src, `Servers: servers("10.0.1.10", "10.0.1.11", "10.0.1.12"),`)
		assert.Contains(t, src, "func servers(hosts ...string) []deploy.Server {")
		assert.Equal(t, 1, strings.Count(src, `"bastion.example.com"`), "the bastion is written once")
	})
	t.Run("writes durations and sizes as a person does", func(t *testing.T) {
		src := generated(t, "testdata/multirole", kamal.GenerateOptions{})
		assert.Contains(t, src, "ResponseTimeout: time.Minute,")
		assert.Contains(t, src, "DeployTimeout:   45 * time.Second,")
		assert.Contains(t, src, "Memory: 512 << 20")
		assert.Contains(t, src, "`[mysqld]\nmax_connections = 200\n`", "a file's content as a raw string")
	})
	t.Run("an overlay assigns only what its destination changes", func(t *testing.T) {
		src := generated(t, "testdata/destinations", kamal.GenerateOptions{})
		assert.Contains(t, src, "\"staging\":    staging,")
		staging := src[strings.Index(src, "func staging(a *deploy.App) {"):]
		staging = staging[:strings.Index(staging, "\n}\n")]
		assert.Contains(t, staging, `a.Env.Clear["LOG_LEVEL"] = "debug"`)
		assert.Contains(t, staging, "a.Retain = 2")
		assert.Contains(t, staging, `/.kamal/secrets.staging"`)
		assert.NotContains(t, staging, "a.Service", "the base's service is kept")
		assert.NotContains(t, staging, "a.Image")
	})
	t.Run("one destination is written alone", func(t *testing.T) {
		src := generated(t, "testdata/destinations", kamal.GenerateOptions{Destination: "staging"})
		assert.Contains(t, src, `Destination: "staging",`)
		assert.NotContains(t, src, "Destinations:")
		assert.NotContains(t, src, "func production")
	})
	t.Run("reads plain secrets files with secret.File, the last first", func(t *testing.T) {
		src := generated(t, "testdata/genplain", kamal.GenerateOptions{Dir: "testdata/genplain"})
		assert.Contains(t, src, `Secrets: secret.Chain{secret.File{Path: ".kamal/secrets"}, secret.File{Path: ".kamal/secrets-common"}, secret.Env{}},`)
		qa := src[strings.Index(src, "func qa(a *deploy.App) {"):]
		assert.Contains(t, qa, `kamal.Secrets{Files: []string{".kamal/secrets-common", ".kamal/secrets.qa"}}`, "a $ reference needs Kamal's reading")
	})
	t.Run("writes paths relative to Dir", func(t *testing.T) {
		src := generated(t, "testdata/destinations", kamal.GenerateOptions{Dir: "testdata/destinations/deployment"})
		assert.Contains(t, src, `"../.kamal/secrets-common"`)
	})
	t.Run("lists every key the report lists, with its file and line", func(t *testing.T) {
		var b bytes.Buffer
		r, err := kamal.Generate("testdata/multirole", &b, kamal.GenerateOptions{})
		require.NoError(t, err)
		require.NotEmpty(t, r.Unsupported)
		for _, k := range append(r.Unsupported, r.NotNeeded...) {
			rel, err := filepath.Rel("testdata/multirole", k.File)
			require.NoError(t, err)
			assert.Contains(t, b.String(), fmt.Sprintf("kamal: %s (%s:%d): ", k.Path, rel, k.Line))
		}
	})
	t.Run("ports hooks as stubs that name the script, left out of App.Hooks", func(t *testing.T) {
		src := generated(t, "testdata/multirole", kamal.GenerateOptions{})
		assert.Contains(t, src, "func postDeploy(ctx context.Context, h deploy.HookContext) error {")
		assert.Contains(t, src, "// postDeploy replaces the Kamal hook .kamal/hooks/post-deploy")
		assert.Contains(t, src, "//\techo deployed\n", "the script is quoted")
		assert.Contains(t, src, "// Hooks: deploy.Hooks{PostDeploy: postDeploy},")
		assert.NotContains(t, src, "preBuild", "a .sample hook is not one")
	})
	t.Run("writes secret names and files, never a value", func(t *testing.T) {
		for _, path := range []string{"testdata/rails", "testdata/destinations", "testdata/multirole"} {
			src := generated(t, path, kamal.GenerateOptions{})
			for _, value := range []string{"postgres://", "AKIA-test", "sqlite3:/rails", "value-of"} {
				assert.NotContains(t, src, value, path)
			}
		}
		t.Setenv("SLIPWAY_TEST_SESSION_SECRET", "session-secret-value")
		assert.NotContains(t, generated(t, "testdata/destinations", kamal.GenerateOptions{}), "session-secret-value")
	})
	t.Run("refuses a config Load refuses, and writes nothing", func(t *testing.T) {
		var b bytes.Buffer
		_, err := kamal.Generate("testdata/laughs", &b, kamal.GenerateOptions{})
		require.ErrorContains(t, err, "MaxValues")
		assert.Zero(t, b.Len())
	})
}

// README's "Leaving Kamal" shows what Generate writes for
// testdata/genreadme, as it writes it.
func TestREADMEShowsWhatGenerateWrites(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	section := string(readme)[strings.Index(string(readme), "### Leaving Kamal"):]
	start := strings.Index(section, "```go\n") + len("```go\n")
	block := section[start : start+strings.Index(section[start:], "```\n")]
	src := generated(t, "testdata/genreadme", kamal.GenerateOptions{Dir: "testdata/genreadme/deployment"})
	assert.Contains(t, src, block, "the README's block is a part of the generated file, verbatim")
	assert.Contains(t, block, "func staging(a *deploy.App) {")
}
